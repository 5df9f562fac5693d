"""Symbolic derivations: every cell's map, Jacobians, BPTT adjoint, fixed-point and bifurcation conditions
as LaTeX, the closed-form checks against REFERENCES, and the fold curves of Bengio's and Pascanu's maps.

Entry point of ``dynlatch run derivations``; the study is :mod:`dynlatch.studies.derivations`."""

import sys

from dynlatch.studies import derivations, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(derivations.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
