"""Depth checks shared by the encoder-decoder generators (SGRU, reference colorizer, ConvNet).

Each of them halves the image ``depth`` times, so it runs at any H, W that are multiples of
``2**depth``; these helpers pick a default depth and explain a bad one.
"""

from __future__ import annotations

import math


def default_depth(image_size: int, max_depth: int, bottleneck_size: int = 1) -> int:
    """The most halvings (<= ``max_depth``) that keep the bottleneck >= ``bottleneck_size`` px."""
    if image_size < 2 * bottleneck_size:
        return 0
    return min(int(math.floor(math.log2(image_size / bottleneck_size))), max_depth)


def check_depth(image_size: int, depth: int, max_depth: int, model: str) -> None:
    """Raise ValueError unless ``depth`` stride-2 halvings fit ``image_size`` exactly."""
    if not 1 <= depth <= max_depth:
        raise ValueError(
            f"{model} depth must be between 1 and {max_depth}, got {depth} "
            f"(image_size={image_size} is too small if depth was not given)"
        )
    if image_size % 2**depth:
        workable = [d for d in range(1, max_depth + 1) if image_size % 2**d == 0]
        hint = f"; depths that work for it: {workable}" if workable else ""
        raise ValueError(
            f"image_size={image_size} is not a multiple of 2**depth={2**depth} "
            f"(depth={depth}): the {model} halves the image {depth} times{hint}"
        )
