"""Why the one-unit LSTM latches worse than the SimpleRNN: learned latches against built-in ones, the edge of memory.

Entry point of ``dynlatch run lstm-failure``; the study is :mod:`dynlatch.studies.lstm_failure`."""

import sys

from dynlatch.studies import lstm_failure, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(lstm_failure.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
