"""Bengio, Simard & Frasconi 1994, Fig. 2: latching success vs T and over (w0, s), with the theory overlaid.

Entry point of ``dynlatch run bengio94``; the study is :mod:`dynlatch.studies.bengio94`."""

import sys

from dynlatch.studies import bengio94, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(bengio94.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
