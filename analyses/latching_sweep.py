"""Success frequency vs sequence length for SRNN, LSTM and GRU on information latching (or bit relay).

Entry point of ``dynlatch run latching-sweep``; the study is :mod:`dynlatch.studies.latching_sweep`."""

import sys

from dynlatch.studies import latching_sweep, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(latching_sweep.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
