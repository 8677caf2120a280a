"""Tests of sketch2color.data.conditioning: palettes, color hints, input modes and input assembly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import tensorflow as tf
from conftest import REAL_PAIRS

from sketch2color.data.conditioning import (
    ConditioningSpec,
    assemble_input,
    build_conditioned_input,
    downsampled_colors,
    extract_palette,
    hints_from_image,
    input_channels,
    input_from_color,
    palette_planes,
    palette_tf,
    parse_palette,
    sample_hints_tf,
    sample_stroke_hints_tf,
)

LEVEL = 1 / 127.5  # one 8-bit level in [-1, 1] units
FLAT_COLORS = np.array(
    [[240, 240, 235], [200, 40, 60], [30, 60, 150]], np.uint8
)  # 50%, 30%, 20% of the image


def unit(image_uint8: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1], as the data pipeline delivers images."""
    return image_uint8.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def three_colors() -> np.ndarray:
    """A 64x64 image of three flat colors covering 50%, 30% and 20% of it."""
    image = np.empty((64, 64, 3), np.uint8)
    image[:, :32] = FLAT_COLORS[0]
    image[:, 32:51] = FLAT_COLORS[1]  # 19 columns ~ 30%
    image[:, 51:] = FLAT_COLORS[2]  # 13 columns ~ 20%
    return image


@pytest.fixture(scope="module")
def real_colors() -> list[np.ndarray]:
    """Color halves of 4 real pairs at 256 px, uint8 (skipped where the shared folder is absent)."""
    from sketch2color.data import read_pair

    files = sorted(REAL_PAIRS.glob("*.png"))[:4] if REAL_PAIRS.is_dir() else []
    if not files:
        pytest.skip(f"no real pair files in {REAL_PAIRS}")
    colors = []
    for path in files:
        _, color = read_pair(path)
        colors.append(cv2.resize(color, (256, 256), interpolation=cv2.INTER_AREA))
    return colors


palette_tf_graph = tf.function(palette_tf, reduce_retracing=True)


# --------------------------------------------------------------------------- palette


@pytest.mark.parametrize("implementation", ["numpy", "tf"])
def test_palette_recovers_flat_colors_largest_first(three_colors, implementation):
    if implementation == "numpy":
        palette = extract_palette(three_colors)
    else:
        palette = palette_tf_graph(tf.constant(unit(three_colors))).numpy()
    assert palette.shape == (9, 3) and palette.dtype == np.float32
    expected = unit(FLAT_COLORS)
    # The three real clusters come first, in order of size...
    np.testing.assert_allclose(palette[:3], expected, atol=2 * LEVEL)
    # ...and the 6 surplus clusters can only repeat those colors.
    nearest = np.abs(palette[:, None] - expected[None]).max(-1).min(-1)
    assert nearest.max() <= 2 * LEVEL


def test_palette_accepts_float_images_in_unit_range(three_colors):
    np.testing.assert_allclose(extract_palette(unit(three_colors)), extract_palette(three_colors), atol=1e-5)


def test_palettes_are_deterministic_per_seed(real_colors):
    image = real_colors[0]
    np.testing.assert_array_equal(extract_palette(image, seed=3), extract_palette(image, seed=3))
    color = tf.constant(unit(image))
    np.testing.assert_array_equal(palette_tf_graph(color).numpy(), palette_tf_graph(color).numpy())
    seed = tf.constant([5, 7], tf.int64)
    np.testing.assert_array_equal(
        palette_tf_graph(color, seed=seed).numpy(), palette_tf_graph(color, seed=seed).numpy()
    )


def _inertia(image: np.ndarray, palette: np.ndarray) -> float:
    """Mean squared distance ([-1, 1] units) of every pixel to its nearest palette color."""
    pixels = unit(image).reshape(-1, 3)
    return float(((pixels[:, None] - palette[None]) ** 2).sum(-1).min(-1).mean())


def test_numpy_and_tf_palettes_agree_on_real_art(real_colors):
    from scipy.optimize import linear_sum_assignment

    for image in real_colors:
        numpy_palette = extract_palette(image)
        tf_palette = palette_tf_graph(tf.constant(unit(image))).numpy()
        # K-means has many near-equal optima (cv2 itself moves colors by ~0.05-0.2 between seeds),
        # so compare quality and matched colors, not exact values.
        assert _inertia(image, tf_palette) < 1.2 * _inertia(image, numpy_palette)
        cost = np.abs(numpy_palette[:, None] - tf_palette[None]).sum(-1)
        rows, cols = linear_sum_assignment(cost)
        assert np.abs(numpy_palette[rows] - tf_palette[cols]).max(-1).mean() < 0.25
        # The dominant color (plane 0, usually the background) is the same.
        np.testing.assert_allclose(numpy_palette[0], tf_palette[0], atol=0.03)


def test_palette_planes_are_constant_color_planes():
    palette = parse_palette("#ff0000,#00ff00,#0000ff")
    planes = palette_planes(palette, 5, 7).numpy()
    assert planes.shape == (5, 7, 27)
    np.testing.assert_array_equal(planes, np.broadcast_to(palette.reshape(1, 1, 27), (5, 7, 27)))
    np.testing.assert_array_equal(planes[2, 3, 3:6], [-1.0, 1.0, -1.0])  # color 1 (green) in channels 3..5


def test_parse_palette_cycles_and_validates():
    palette = parse_palette("#ff0000, 00ff00;#00f")
    assert palette.shape == (9, 3) and palette.dtype == np.float32
    expected = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], np.float32)
    np.testing.assert_array_equal(palette, np.tile(expected, (3, 1)))
    np.testing.assert_array_equal(parse_palette(["#ffffff"], n_colors=2), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="'#gg0000'"):
        parse_palette("#ff0000,#gg0000")
    with pytest.raises(ValueError, match="at most 9"):
        parse_palette(",".join(["#000000"] * 10))
    with pytest.raises(ValueError, match="empty palette"):
        parse_palette(" , ")


# --------------------------------------------------------------------------- hints


@pytest.fixture(scope="module")
def smooth_color() -> tf.Tensor:
    """A 256x256 color target with varied colors, float32 in [-1, 1]."""
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    return tf.constant(unit(cv2.resize(coarse, (256, 256), interpolation=cv2.INTER_LINEAR)))


SEED = tf.constant([11, 22], tf.int64)


def test_hints_are_masked_downsampled_colors(smooth_color):
    hints = sample_hints_tf(smooth_color, SEED, downsample=4, keep_prob=0.1).numpy()
    assert hints.shape == (256, 256, 4) and hints.dtype == np.float32
    mask = hints[..., 3]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert abs(mask.mean() - 0.1) < 0.02  # 4096 cells: std of the fraction ~0.005
    # The mask is constant on every 4x4 cell.
    cells = mask.reshape(64, 4, 64, 4)
    assert np.all(cells.min(axis=(1, 3)) == cells.max(axis=(1, 3)))
    cell_colors = downsampled_colors(smooth_color, 4).numpy()
    expected = np.repeat(np.repeat(cell_colors, 4, axis=0), 4, axis=1)
    on = mask > 0
    np.testing.assert_allclose(hints[..., :3][on], expected[on], atol=1e-6)
    assert not hints[..., :3][~on].any()


def test_hints_are_deterministic_per_seed(smooth_color):
    first = sample_hints_tf(smooth_color, SEED).numpy()
    np.testing.assert_array_equal(first, sample_hints_tf(smooth_color, SEED).numpy())
    other = sample_hints_tf(smooth_color, tf.constant([11, 23], tf.int64)).numpy()
    assert not np.array_equal(first[..., 3], other[..., 3])


def test_hint_density_range_and_empty_examples(smooth_color):
    densities = [
        sample_hints_tf(smooth_color, tf.constant([s, 0]), keep_prob=(0.0, 0.3)).numpy()[..., 3].mean()
        for s in range(8)
    ]
    assert max(densities) - min(densities) > 0.05  # a new density per example
    assert all(d < 0.33 for d in densities)
    empty = sample_hints_tf(smooth_color, SEED, keep_prob=0.5, empty_prob=1.0).numpy()
    assert not empty.any()


@pytest.fixture(scope="module")
def flat_regions() -> tf.Tensor:
    """A 256x256 target of flat 64x64 color regions (16x16 hint cells each), in [-1, 1]."""
    rng = np.random.default_rng(2)
    coarse = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    return tf.constant(unit(cv2.resize(coarse, (256, 256), interpolation=cv2.INTER_NEAREST)))


def test_stroke_hints_are_one_color_strokes_inside_their_regions(flat_regions):
    hints = sample_stroke_hints_tf(flat_regions, SEED, downsample=4, keep_prob=0.05).numpy()
    assert hints.shape == (256, 256, 4) and hints.dtype == np.float32
    mask = hints[..., 3]
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0.01 < mask.mean() <= 0.05
    cells = mask.reshape(64, 4, 64, 4)
    assert np.all(cells.min(axis=(1, 3)) == cells.max(axis=(1, 3)))  # whole hint cells, as the model reads
    # Each hinted pixel carries its region's own color (strokes stop at region borders).
    on = mask > 0
    np.testing.assert_allclose(hints[..., :3][on], flat_regions.numpy()[on], atol=1e-5)
    assert not hints[..., :3][~on].any()
    # Strokes, not lone cells: most hinted cells touch another hinted cell.
    grid = cells[:, 0, :, 0] > 0
    padded = np.pad(grid, 1)
    neighbours = sum(
        np.roll(np.roll(padded, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)
    )[1:-1, 1:-1]
    assert (neighbours[grid] > 0).mean() > 0.6
    lone_cells = sample_hints_tf(flat_regions, SEED, downsample=4, keep_prob=0.05).numpy()[::4, ::4, 3] > 0
    lone_padded = np.pad(lone_cells, 1)
    lone_neighbours = sum(
        np.roll(np.roll(lone_padded, dy, 0), dx, 1)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    )[1:-1, 1:-1]
    assert (lone_neighbours[lone_cells] > 0).mean() < 0.5  # what the "cells" style gives instead


def test_stroke_hints_are_deterministic_and_follow_density_and_empty(flat_regions):
    first = sample_stroke_hints_tf(flat_regions, SEED).numpy()
    np.testing.assert_array_equal(first, sample_stroke_hints_tf(flat_regions, SEED).numpy())
    assert not np.array_equal(first, sample_stroke_hints_tf(flat_regions, tf.constant([11, 23])).numpy())
    sparse, dense = (
        sample_stroke_hints_tf(flat_regions, SEED, keep_prob=p).numpy()[..., 3].mean() for p in (0.02, 0.2)
    )
    assert dense > 4 * sparse > 0
    assert not sample_stroke_hints_tf(flat_regions, SEED, keep_prob=0.3, empty_prob=1.0).numpy().any()


def test_hints_from_rgba_and_rgb_images():
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[10:12, 10:12] = (255, 0, 0, 255)  # a 2x2 red dot inside cell (2, 2)
    rgba[40:48, 40:44] = (0, 255, 0, 40)  # faint alpha: not a hint
    hints = hints_from_image(rgba, 64)
    assert hints.shape == (64, 64, 4)
    assert hints[..., 3].sum() == 16 and np.all(hints[8:12, 8:12, 3] == 1)  # the whole 4x4 cell
    np.testing.assert_allclose(
        hints[8:12, 8:12, :3], np.broadcast_to([1.0, -1.0, -1.0], (4, 4, 3)), atol=1e-5
    )
    assert not hints[40:48, 40:44].any()

    canvas = np.full((128, 128, 3), 255, np.uint8)
    canvas[64:72, 0:8] = (0, 0, 255)  # a blue block on white, at twice the model's size
    hints = hints_from_image(canvas, (64, 64))
    assert hints[..., 3].sum() == 16 and np.all(hints[32:36, 0:4, 3] == 1)
    np.testing.assert_allclose(hints[32, 0, :3], [-1.0, -1.0, 1.0], atol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        hints_from_image(canvas.astype(np.float32), 64)


# --------------------------------------------------------------------------- input modes


def test_gray_mode_is_luminance(smooth_color):
    gray = input_from_color(smooth_color, "gray").numpy()
    unit_rgb = smooth_color.numpy() * 0.5 + 0.5
    luminance = unit_rgb @ np.array([0.299, 0.587, 0.114], np.float32) * 2 - 1
    assert gray.shape == (256, 256, 3)
    for channel in range(3):
        np.testing.assert_allclose(gray[..., channel], luminance, atol=1e-3)


def test_edges_mode_draws_dark_lines_at_shape_boundaries():
    image = np.full((96, 96, 3), 235, np.uint8)
    cv2.circle(image, (48, 48), 30, (200, 30, 30), thickness=-1)
    edges = tf.function(lambda c: input_from_color(c, "edges"))(tf.constant(unit(image))).numpy()
    assert edges.shape == (96, 96, 3)
    dark = edges[..., 0] < 0.0
    ys, xs = np.mgrid[:96, :96]
    distance = np.abs(np.hypot(xs - 48, ys - 48) - 30)
    assert (edges[..., 0] == 1.0).mean() > 0.85, "mostly white"
    near_line = cv2.dilate(dark.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert near_line[distance <= 0.5].mean() > 0.95, "lines along the circle (within 1 px)"
    assert not dark[distance > 3].any(), "nothing away from it"


def test_sketch_mode_passes_the_sketch_through(smooth_color):
    sketch = tf.ones([256, 256, 3]) * 0.25
    np.testing.assert_array_equal(
        input_from_color(smooth_color, "sketch", sketch=sketch).numpy(), sketch.numpy()
    )
    with pytest.raises(ValueError, match="sketch="):
        input_from_color(smooth_color, "sketch")
    with pytest.raises(ValueError, match="input_mode"):
        input_from_color(smooth_color, "lineart")


# --------------------------------------------------------------------------- assembly

SPECS = [
    (ConditioningSpec(), 3),
    (ConditioningSpec(palette=True), 30),
    (ConditioningSpec(input_mode="gray", hints=True), 7),
    (ConditioningSpec(input_mode="edges", palette=True, hints=True), 34),
]


@pytest.mark.parametrize("spec, channels", SPECS)
def test_conditioned_input_channels(smooth_color, spec, channels):
    assert input_channels(spec) == channels
    sketch = tf.zeros([256, 256, 3])
    conditioned = build_conditioned_input(sketch, smooth_color, spec, SEED)
    assert conditioned.shape == (256, 256, channels)
    if spec.palette:
        palette = palette_tf(smooth_color).numpy()
        np.testing.assert_allclose(conditioned[5, 9, 3:30].numpy(), palette.reshape(-1), atol=1e-6)


def test_conditioned_input_in_a_tf_data_map():
    rng = np.random.default_rng(0)
    colors = unit(rng.integers(0, 256, (4, 32, 32, 3)).astype(np.uint8))
    sketches = np.zeros_like(colors)
    seeds = tf.data.Dataset.random(seed=1).batch(2)
    for spec, channels in SPECS:
        pairs = tf.data.Dataset.from_tensor_slices((sketches, colors))
        conditioned = (
            tf.data.Dataset.zip(pairs, seeds)
            .map(
                lambda pair, seed, spec=spec: (
                    build_conditioned_input(pair[0], pair[1], spec, seed),
                    pair[1],
                ),
                num_parallel_calls=2,
            )
            .batch(2)
        )
        assert conditioned.element_spec[0].shape.as_list() == [None, 32, 32, channels]
        batches = [x.numpy() for x, _ in conditioned]
        assert [b.shape for b in batches] == [(2, 32, 32, channels)] * 2
        assert np.isfinite(np.concatenate(batches)).all()


def test_assemble_input_for_inference():
    spec = ConditioningSpec(palette=True, hints=True)
    sketch = np.zeros((16, 16, 3), np.float32)
    joined = assemble_input(sketch, spec, palette=parse_palette("#ffffff")).numpy()
    assert joined.shape == (16, 16, 34)
    assert np.all(joined[..., 3:30] == 1.0) and not joined[..., 30:].any()  # no hints given: all zero
    with pytest.raises(ValueError, match="palette"):
        assemble_input(sketch, spec)


def test_spec_validation():
    with pytest.raises(ValueError, match="input_mode"):
        ConditioningSpec(input_mode="canny")
    with pytest.raises(ValueError, match="keep_prob"):
        ConditioningSpec(hint_keep_prob=(0.5, 0.1))
    assert ConditioningSpec(hint_keep_prob=[0.0, 0.1]).hint_keep_prob == (0.0, 0.1)  # JSON lists
    with pytest.raises(ValueError, match="seed"):
        build_conditioned_input(tf.zeros([8, 8, 3]), tf.zeros([8, 8, 3]), ConditioningSpec(hints=True))
