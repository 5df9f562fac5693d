"""Fixed points of the latching sweep's models before and after training, by cell, T and success.

Entry point of ``dynlatch run fixed-point-census``; the study is :mod:`dynlatch.studies.fixed_point_census`."""

import sys

from dynlatch.studies import fixed_point_census, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(fixed_point_census.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
