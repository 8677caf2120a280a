"""Tests of the procedural pairs (sketch2color.data.synthetic): pixels, determinism and
learnable color regularities."""

from __future__ import annotations

import colorsys
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sketch2color.data import synthetic
from sketch2color.data.synthetic import render_color_and_sketch, render_pair, render_with_metadata

REPO = Path(__file__).resolve().parents[2]
SMALL = 64  # pixels: fast renders for the statistical tests


def _metadata(seeds, height=SMALL):
    """Metadata of many renders (the images are dropped)."""
    return [render_with_metadata(seed, height)[1] for seed in seeds]


def _hue(rgb) -> float:
    """Hue in degrees."""
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] * 360


def _hue_distance(a: float, b: float) -> float:
    """Distance on the hue circle, in degrees."""
    return abs((a - b + 180) % 360 - 180)


def _nearest_centroid_accuracy(colors_by_label: dict[str, list]) -> float:
    """How often a color is closest to its own label's mean color (leave-nothing-out, RGB)."""
    centroids = {label: np.mean(colors, axis=0) for label, colors in colors_by_label.items()}
    labels = list(centroids)
    matrix = np.stack([centroids[label] for label in labels])
    hits = total = 0
    for label, colors in colors_by_label.items():
        for color in colors:
            hits += labels[int(np.argmin(np.linalg.norm(matrix - np.asarray(color, float), axis=1)))] == label
            total += 1
    return hits / total


# --------------------------------------------------------------------------- pixels


@pytest.mark.parametrize("height", [64, 256])
def test_pair_shape_dtype_and_halves(height):
    pair = render_pair(3, height)
    assert pair.shape == (height, 2 * height, 3) and pair.dtype == np.uint8
    color, sketch = render_color_and_sketch(3, height)
    np.testing.assert_array_equal(pair[:, :height], color)
    np.testing.assert_array_equal(pair[:, height:], sketch)


def test_color_left_sketch_right():
    for seed in range(6):
        color, sketch = render_color_and_sketch(seed, 256)
        spread = sketch.max(axis=2).astype(int) - sketch.min(axis=2)
        assert spread.max() == 0, "sketch must be gray"
        assert np.mean(sketch) > 200, "sketch must be mostly white"
        assert np.mean(sketch < 128) > 0.01, "sketch must have lines"
        color_spread = color.max(axis=2).astype(int) - color.min(axis=2)
        assert np.mean(color_spread > 60) > 0.005, "color half must be saturated somewhere"


def test_sketch_lines_align_with_color_outlines():
    for seed in range(8):
        color, sketch = render_color_and_sketch(seed, 256)
        dark_in_sketch = sketch[..., 0] < 64
        dark_in_color = color.max(axis=2) < 128
        assert dark_in_sketch.sum() > 500
        assert np.mean(dark_in_color[dark_in_sketch]) > 0.97
        # Lines must not be shifted: moving the sketch by 2 pixels destroys the overlap.
        shifted = np.roll(dark_in_sketch, 2, axis=1)
        assert np.mean(dark_in_color[shifted]) < 0.8


def test_same_seed_same_pixels_and_different_seeds_differ():
    np.testing.assert_array_equal(render_pair(11, 128), render_pair(11, 128))
    assert not np.array_equal(render_pair(11, 128), render_pair(12, 128))
    assert len({hashlib.sha1(render_pair(seed, SMALL).tobytes()).hexdigest() for seed in range(20)}) == 20


def test_same_pixels_in_another_process_without_tensorflow():
    code = (
        "import hashlib, sys; from sketch2color.data.synthetic import render_pair; "
        "print(hashlib.sha1(render_pair(5, 128).tobytes()).hexdigest()); print('tensorflow' in sys.modules); "
        "print('sketch2color.data.embedded' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    digest, tensorflow_loaded, cache_module_loaded = out.stdout.split()
    assert digest == hashlib.sha1(render_pair(5, 128).tobytes()).hexdigest()
    assert tensorflow_loaded == "False"
    assert cache_module_loaded == "False", "the renderer must not depend on the dataset cache"


def test_rejects_tiny_height():
    with pytest.raises(ValueError):
        render_pair(0, 8)


# --------------------------------------------------------------------------- learnable regularities


def test_both_kinds_and_all_styles_occur():
    metas = _metadata(range(150))
    kinds = [m["kind"] for m in metas]
    assert 0.5 < kinds.count("portrait") / len(kinds) < 0.9
    portraits = [m for m in metas if m["kind"] == "portrait"]
    assert {m["hair_style"] for m in portraits} == set(synthetic.HAIR_STYLES)
    assert {m["collar"] for m in portraits} == set(synthetic.COLLARS)


def test_hair_color_is_predictable_from_hair_style():
    portraits = [m for m in _metadata(range(300)) if m["kind"] == "portrait"]
    by_style: dict[str, list] = {}
    for m in portraits:
        by_style.setdefault(m["hair_style"], []).append(m["hair_rgb"])
    assert _nearest_centroid_accuracy(by_style) > 0.95
    # There is variety within a style too (jitter), not one fixed color.
    assert all(np.std(colors, axis=0).max() > 3 for colors in by_style.values() if len(colors) > 5)
    hues = {style: np.median([_hue(c) for c in colors]) for style, colors in by_style.items()}
    assert _hue_distance(hues["long"], hues["twintails"]) > 60
    assert _hue_distance(hues["spiky"], hues["short"]) > 60


def test_eye_color_follows_hair_and_clothes_follow_collar():
    portraits = [m for m in _metadata(range(300)) if m["kind"] == "portrait"]
    chromatic = [m for m in portraits if colorsys.rgb_to_hsv(*(c / 255 for c in m["hair_rgb"]))[1] > 0.2]
    assert all(_hue_distance(_hue(m["eye_rgb"]), _hue(m["hair_rgb"])) < 20 for m in chromatic)
    by_collar: dict[str, list] = {}
    for m in portraits:
        by_collar.setdefault(m["collar"], []).append(m["clothes_rgb"])
    assert _nearest_centroid_accuracy(by_collar) > 0.95


def test_metadata_colors_are_the_drawn_colors():
    checked = 0
    for seed in range(40):
        pair, meta = render_with_metadata(seed, 128)
        if meta["kind"] != "portrait":
            continue
        color = pair[:, :128].astype(int)
        for key in ("hair_rgb", "skin_rgb", "clothes_rgb"):
            near = np.abs(color - np.asarray(meta[key])).sum(axis=2) <= 3
            assert near.mean() > 0.005, f"seed {seed}: {key} {meta[key]} not in the image"
        checked += 1
    assert checked >= 20


def test_landscape_sky_is_blue_and_grass_green():
    landscapes = [(s, m) for s, m in enumerate(_metadata(range(60), 128)) if m["kind"] == "landscape"]
    assert len(landscapes) >= 8
    for seed, meta in landscapes:
        color, _ = render_color_and_sketch(seed, 128)
        top_hues = [_hue(px) for px in color[2, ::4]]
        assert 190 < np.median(top_hues) < 235
        assert 80 < _hue(meta["grass_rgb"]) < 130
