"""Symbolic derivations of every cell and map as LaTeX, with the closed-form checks and the fold curves.

Entry point of ``dynlatch run derivations``; the study is :mod:`dynlatch.studies.derivations`."""

import sys

from dynlatch.studies import derivations, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(derivations.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
