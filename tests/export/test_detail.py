"""Full-resolution output: a sketch larger than the training size keeps its own lines (or, for
gray-input models, its own luminance) over the model's upsampled colors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch2color.data.conditioning import ConditioningSpec
from sketch2color.export import colorize_array, export_generator, load_colorizer
from sketch2color.export.colorizer import Colorizer, flat_colors
from sketch2color.models.unet import unet_generator

SIZE = 32


def line_sketch(size: int, spacing: int = 16) -> np.ndarray:
    """White paper with 1-pixel black grid lines every ``spacing`` pixels: uint8 [size, size, 3]."""
    sketch = np.full((size, size, 3), 255, np.uint8)
    sketch[::spacing] = 0
    sketch[:, ::spacing] = 0
    return sketch


@pytest.fixture(scope="module")
def colorizer():
    keras.utils.set_random_seed(0)
    return Colorizer(unet_generator(image_size=SIZE, base_filters=8), SIZE)


def test_at_the_training_size_the_output_is_the_models_own(colorizer):
    sketch = line_sketch(SIZE, 8)
    np.testing.assert_array_equal(
        colorize_array(colorizer, sketch, detail="lines"), colorize_array(colorizer, sketch, detail="none")
    )


def test_a_large_sketch_keeps_its_lines_sharp_over_the_models_colors(colorizer):
    sketch = line_sketch(SIZE * 8)  # 256 px: the model works at 32 px, 8x smaller
    lines = sketch[..., 0] == 0
    detailed = colorize_array(colorizer, sketch, detail="lines").astype(float)
    plain = colorize_array(colorizer, sketch, detail="none").astype(float)
    assert detailed.shape == plain.shape == sketch.shape
    # Every line pixel is as dark as drawn (black) with the lines kept; the plain upscale blurs them.
    assert detailed[lines].max() <= 1 and plain[lines].mean() > 20
    # Sharpness: the luminance step across a line is far larger than after the plain upscale.
    step = lambda image: np.abs(np.diff(image.mean(-1), axis=1)).max(axis=1).mean()  # noqa: E731
    assert step(detailed) > 2 * step(plain)
    # Paper keeps the model's colors: away from the lines both outputs are close.
    paper = ~lines
    for offset in (1, 2, 3):
        paper &= ~np.roll(lines, offset, 0) & ~np.roll(lines, -offset, 0)
        paper &= ~np.roll(lines, offset, 1) & ~np.roll(lines, -offset, 1)
    assert np.abs(detailed[paper] - plain[paper]).mean() < 25


def test_flat_colors_fill_line_pixels_from_the_areas_beside_them():
    color = np.zeros((1, 9, 9, 3), np.float32)
    color[:, :, :4] = [1.0, 0.0, 0.0]
    color[:, :, 5:] = [0.0, 0.0, 1.0]
    color[:, :, 4] = 0.0  # the model drew the line itself: black
    sketch = np.ones((1, 9, 9, 3), np.float32)
    sketch[:, :, 4] = -1.0  # the line in the sketch, [-1, 1]
    flat = flat_colors(tf.constant(color), tf.constant(sketch)).numpy()
    np.testing.assert_allclose(flat[0, :, 4], [[0.5, 0.0, 0.5]] * 9, atol=0.01)  # the neighbours' mean
    np.testing.assert_allclose(flat[0, :, 0], color[0, :, 0], atol=0.01)  # paper far away: unchanged


def test_gray_input_models_keep_the_inputs_luminance():
    keras.utils.set_random_seed(1)
    colorizer = Colorizer(unet_generator(image_size=SIZE, base_filters=8), SIZE, ConditioningSpec("gray"))
    rng = np.random.default_rng(0)
    gray = np.repeat(rng.integers(0, 256, (SIZE * 4, SIZE * 4, 1), dtype=np.uint8), 3, axis=-1)
    color = colorize_array(colorizer, gray).astype(float)
    luminance = color @ np.array([0.299, 0.587, 0.114])
    inside = (gray[..., 0] > 40) & (gray[..., 0] < 215)  # away from clipping at black and white
    assert np.abs(luminance[inside] - gray[..., 0][inside]).mean() < 3


def test_the_export_has_both_signatures_and_detail_none_is_the_plain_one(tmp_path, colorizer):
    export_generator(colorizer.generator, tmp_path, SIZE)
    loaded = load_colorizer(tmp_path)
    assert {"serving_default", "plain_upscale"} <= set(loaded.signatures)
    sketch = line_sketch(SIZE * 4)
    np.testing.assert_array_equal(
        colorize_array(loaded, sketch, detail="none"), colorize_array(colorizer, sketch, detail="none")
    )
    assert (
        np.abs(
            colorize_array(loaded, sketch).astype(int) - colorize_array(colorizer, sketch).astype(int)
        ).max()
        <= 1
    )
    with pytest.raises(ValueError, match="detail must be one of"):
        colorize_array(loaded, sketch, detail="sharp")


@pytest.mark.parametrize("size", [(96, 160), (20, 12)])  # up and down from the model's 32 px
def test_the_output_scaled_before_its_resize_matches_the_resize_then_scale(size):
    """The plain output is scaled to 0..255 at the model's size and resized after (fewer passes
    over the full-size image): the same uint8 as resizing the [-1, 1] output and converting it."""
    from sketch2color.data.pixels import to_uint8
    from sketch2color.export.colorizer import _resize, _resized_uint8

    y = tf.tanh(tf.random.stateless_normal((2, 32, 32, 3), seed=(4, 2)) * 2.0)  # includes +-1 saturation
    height, width = tf.constant(size[0]), tf.constant(size[1])
    fast = _resized_uint8(y, height, width).numpy().astype(int)
    reference = to_uint8(_resize(y, height, width)).numpy().astype(int)
    assert fast.shape == (2, *size, 3)
    assert np.abs(fast - reference).max() <= 1  # only exact .5 levels round differently (half-up)
    assert np.mean(fast != reference) < 1e-3
