"""Pascanu et al. 2013's cliff (Fig. 6), with the fold curves and basin boundary showing what the wall follows.

Entry point of ``dynlatch run pascanu-cliff``; the study is :mod:`dynlatch.studies.pascanu_cliff`."""

import sys

from dynlatch.studies import pascanu_cliff, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(pascanu_cliff.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
