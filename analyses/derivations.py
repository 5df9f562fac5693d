"""Symbolic derivations (issue 9): every cell's map, Jacobians, BPTT adjoint, fixed-point and bifurcation conditions
as LaTeX, the closed-form checks against REFERENCES, and the fold curves of Bengio's and Pascanu's maps."""

from __future__ import annotations

from dynlatch.scripting import analysis_parser, save_figure, write_csv, write_summary
from dynlatch.symbolic._export import closed_form_checks, fold_curves_figure, write_derivations, write_paper_files

NAME = "derivations"


def main(argv: list[str] | None = None) -> int:
    p = analysis_parser(NAME, __doc__)
    p.add_argument("--paper", action="store_true", help="also write the .tex files to paper/generated/")
    args = p.parse_args(argv)
    rows = write_derivations(args.out, quick=args.quick)
    write_csv(rows, args.out / "runs.csv")
    checks = closed_form_checks()
    figures = save_figure(fold_curves_figure(), args.out, "fold_curves")
    summary = {"files": [r["file"] for r in rows], "count": len(rows), "quick": args.quick,
               "closed_form_checks": checks, "figures": [f.name for f in figures]}
    write_summary(summary, args.out)
    if args.paper:
        write_paper_files(quick=args.quick)
    if not args.quiet:
        print(f"{len(rows)} derivations -> {args.out}; Bengio fold matches REFERENCES: {checks['bengio_all_match']}")
    return 0
