"""Bifurcation diagrams of the one-unit SRNN and LSTM with the Keras-2 initial values drawn on them.

Entry point of ``dynlatch run bifurcations``; the study is :mod:`dynlatch.studies.bifurcations`."""

import sys

from dynlatch.studies import bifurcations, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(bifurcations.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
