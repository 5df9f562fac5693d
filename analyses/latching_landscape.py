"""Latching loss surfaces of the one-unit SRNN and LSTM, with stable fixed points and Keras-2 starts overlaid.

Entry point of ``dynlatch run latching-landscape``; the study is :mod:`dynlatch.studies.latching_landscape`."""

import sys

from dynlatch.studies import latching_landscape, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(latching_landscape.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
