"""Symbolic derivations (issue 9): every cell's map, Jacobians, BPTT adjoint, fixed-point and bifurcation conditions
as LaTeX, the closed-form checks against REFERENCES, and the fold curves of Bengio's and Pascanu's maps."""

from __future__ import annotations

from dynlatch.scripting import parse_config, save_figure, write_csv, write_summary
from dynlatch.symbolic._export import (
    DerivationsConfig, closed_form_checks, fold_curves_figure, write_derivations, write_paper_files,
)

NAME = "derivations"


def main(argv: list[str] | None = None) -> int:
    config, args = parse_config(DerivationsConfig, NAME, __doc__, argv)
    small = config.scope == "small"
    rows = write_derivations(args.out, quick=small)
    write_csv(rows, args.out / "runs.csv")
    checks = closed_form_checks()
    figures = save_figure(fold_curves_figure(), args.out, "fold_curves")
    summary = {"files": [r["file"] for r in rows],
               "count": len(rows), "closed_form_checks": checks, "figures": [f.name for f in figures]}
    write_summary(summary, args.out, config=config)
    if config.paper:
        write_paper_files(quick=small)
    if not args.quiet:
        print(f"{len(rows)} derivations -> {args.out}; Bengio fold matches REFERENCES: {checks['bengio_all_match']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
