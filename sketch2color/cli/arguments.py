"""argparse types for numbers with bounds, shared by every command line and data script."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sketch2color.config import limits_problem


def bounded(kind: type, **limits: float) -> Callable[[str], float]:
    """An argparse ``type=`` for ``kind`` (int or float) within ``limits`` (minimum, maximum, above,
    below), finite: a bad value stops at parse time as "argument --x: must be >= 1, got 0"."""

    def parse(text: str):
        value = kind(text)  # a ValueError here: argparse says "invalid int value: 'x'"
        problem = limits_problem(limits, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)  # argparse puts "argument --x: " before it
        return value

    parse.__name__ = kind.__name__
    return parse
