"""Rendering one pair: a portrait (about 70 %) or a landscape, from a seed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from sketch2color.data.synthetic.canvas import Canvas
from sketch2color.data.synthetic.character import CharacterPainter, design_character, random_pose
from sketch2color.data.synthetic.scenery import draw_landscape, draw_portrait_background

# Version of what render_pair draws; it is part of the dataset cache's name and marker, so
# bump it whenever the pixels for a seed change and cached datasets are regenerated.
PAIR_FORMAT_VERSION = 1


def _render(seed: int, height: int) -> tuple[Canvas, dict[str, Any]]:
    """Draw one illustration; the canvas holds its fills and lines."""
    if height < 32:
        raise ValueError(f"height must be at least 32 pixels, got {height}")
    rng = np.random.default_rng(seed)
    canvas = Canvas(int(height), rng)
    meta: dict[str, Any] = {"seed": int(seed)}
    if rng.random() < 0.7:
        meta["kind"] = "portrait"
        draw_portrait_background(canvas, rng, meta)
        design = design_character(rng)
        CharacterPainter(canvas, rng, design, random_pose(rng, canvas.size)).draw()
        meta.update(asdict(design))
    else:
        meta["kind"] = "landscape"
        draw_landscape(canvas, rng, meta)
    meta["line_rgb"] = canvas.line_rgb
    return canvas, meta


def render_color_and_sketch(seed: int, height: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The colored illustration and its sketch, each (height, height, 3) uint8 RGB."""
    canvas, _ = _render(seed, height)
    return canvas.color_image(), canvas.sketch_image()


def render_with_metadata(seed: int, height: int = 512) -> tuple[np.ndarray, dict[str, Any]]:
    """A pair (see render_pair) and what was drawn: kind, hair style and colors, collar, ..."""
    canvas, meta = _render(seed, height)
    return np.concatenate([canvas.color_image(), canvas.sketch_image()], axis=1), meta


def render_pair(seed: int, height: int = 512) -> np.ndarray:
    """One training pair, (height, 2*height, 3) uint8 RGB: color on the left, sketch on the right."""
    return render_with_metadata(seed, height)[0]
