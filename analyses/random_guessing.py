"""Random weight guessing (Hochreiter & Schmidhuber 1997) vs gradient descent: mean trials to success vs T.

Entry point of ``dynlatch run random-guessing``; the study is :mod:`dynlatch.studies.random_guessing`."""

import sys

from dynlatch.studies import random_guessing, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(random_guessing.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
