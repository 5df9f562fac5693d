"""Accuracy of the hand-built one-unit latches (SRNN, period-2 SRNN, two LSTMs, GRU) versus T (up to 1000) and noise.

Entry point of ``dynlatch run handmade-latches``; the study is :mod:`dynlatch.studies.handmade_latches`."""

import sys

from dynlatch.studies import handmade_latches, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(handmade_latches.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
