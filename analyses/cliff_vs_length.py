"""How Pascanu's wall forms as T grows: its width and gradient norm per T, and their rates against the Jacobian's.

Entry point of ``dynlatch run cliff-vs-length``; the study is :mod:`dynlatch.studies.cliff_vs_length`."""

import sys

from dynlatch.studies import cliff_vs_length, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(cliff_vs_length.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
