"""``.keras`` generator files as models for colorize and evaluate: loaded with Keras' safe mode,
so a file from someone else cannot run code; the export's own file colors like its SavedModel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import gray_of, smooth_color_image

from sketch2color.data.conditioning import ConditioningSpec
from sketch2color.evaluation import load_model
from sketch2color.export import ExportError, export_generator, load_colorizer
from sketch2color.export.colorizer import spec_from_channels
from sketch2color.models.unet import unet_generator

REPO = Path(__file__).resolve().parents[2]
SIZE = 32


def sketches(count: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([gray_of(smooth_color_image(rng, SIZE)) for _ in range(count)])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    keras.utils.set_random_seed(0)
    generator = unet_generator(image_size=SIZE, base_filters=8, input_channels=7)  # sketch + hints
    return export_generator(generator, tmp_path_factory.mktemp("export"), SIZE, ConditioningSpec(hints=True))


def test_the_exports_keras_file_colors_like_its_saved_model(exported):
    from_keras = load_colorizer(exported / "generator.keras")
    from_saved = load_colorizer(exported)
    assert bool(from_keras.uses_hints.numpy()) and int(from_keras.palette_colors.numpy()) == 0
    assert int(from_keras.image_size.numpy()) == SIZE  # the 32 px given at the call, read back
    hints = np.zeros((2, SIZE, SIZE, 4), np.float32)
    hints[:, 4:8, 4:8] = [0.9, -0.5, 0.1, 1.0]  # one red-ish hint patch with its mask
    ours = from_keras.serve(tf.constant(sketches()), tf.constant(hints))["color"].numpy()
    theirs = from_saved.serve(tf.constant(sketches()), tf.constant(hints))["color"].numpy()
    assert ours.dtype == np.uint8 and ours.shape == (2, SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert load_model(exported / "generator.keras").uses_hints  # evaluate takes it too


@pytest.mark.parametrize(
    "channels, palette, hints, colors", [(3, False, False, 1), (7, False, True, 1), (30, True, False, 9)]
)
def test_the_input_width_says_the_conditioning(channels, palette, hints, colors):
    spec = spec_from_channels(channels)
    assert (spec.palette, spec.hints, spec.n_colors) == (palette, hints, colors)
    with pytest.raises(ValueError, match="input channels"):
        spec_from_channels(2)


def lambda_model_file(folder: Path, marker: Path) -> Path:
    """A .keras file whose Lambda layer would write ``marker`` if its stored code ever ran."""
    inputs = keras.Input((SIZE, SIZE, 3))
    # The path is a constant of the lambda's code (a closure variable would not serialize).
    touch = eval(f"lambda x: x + 0 * float(__import__('pathlib').Path({str(marker)!r}).touch() is None)")
    outputs = keras.layers.Lambda(touch)(inputs)
    path = folder / "from_a_stranger.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink(missing_ok=True)  # saving traced the lambda once
    return path


def test_a_keras_file_with_stored_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / "code_ran"
    path = lambda_model_file(tmp_path, marker)
    with pytest.raises(ExportError, match="safe_mode=True") as caught:
        load_colorizer(path)
    assert str(path) in str(caught.value)
    assert not marker.exists(), "the file's code ran"


def test_a_damaged_or_foreign_keras_file_is_one_named_error(tmp_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(os.urandom(300))
    with pytest.raises(ExportError, match="not a loadable .keras model") as caught:
        load_colorizer(garbage)
    assert str(garbage) in str(caught.value)
    vector = tmp_path / "vector.keras"
    inputs = keras.Input((5,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(vector)
    with pytest.raises(ExportError, match="not an image generator"):
        load_colorizer(vector)


@pytest.mark.slow
def test_colorize_refuses_an_unsafe_keras_file_in_one_line(tmp_path):
    marker = tmp_path / "code_ran"
    path = lambda_model_file(tmp_path, marker)
    sketch = tmp_path / "sketch.png"
    keras.utils.save_img(sketch, sketches(1)[0])
    result = subprocess.run(
        [sys.executable, "-m", "sketch2color.colorize", str(sketch), "--model", str(path), "--out", "out"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(path) in errors[0] and "safe_mode" in errors[0], result.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()
