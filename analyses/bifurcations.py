"""Bifurcation diagrams of the one-unit SRNN (in U, and in b at U = 2) and LSTM (in U_c and b_f, Keras-2 hard gates),
with the Keras-2 initial values drawn on them, two-parameter fold/flip curves against closed forms, a hard-gate border
collision, basins of a bistable LSTM and the ghost's passage time near Bengio's fold.

Entry point of ``dynlatch run bifurcations``; the study is :mod:`dynlatch.studies.bifurcations`."""

import sys

from dynlatch.studies import bifurcations, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(bifurcations.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
