"""Gradient decay log ||ds_T/ds_t|| and its per-step rate, measured and predicted, hand-built and Keras-2 cells.

Entry point of ``dynlatch run gradient-decay``; the study is :mod:`dynlatch.studies.gradient_decay`."""

import sys

from dynlatch.studies import gradient_decay, run_study


def main(argv: list[str] | None = None) -> int:
    return run_study(gradient_decay.STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
