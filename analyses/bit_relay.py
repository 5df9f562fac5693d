"""Bit relay with 8 units: which set-up ranks SRNN, LSTM and GRU how, and does success track the initial radius?

Entry point of ``dynlatch run bit-relay``; the study is :mod:`dynlatch.studies.bit_relay`."""

import sys

from dynlatch.studies import bit_relay, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(bit_relay.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
