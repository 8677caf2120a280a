"""HintSpread: color hints spread over the image by normalized convolution, before the generator."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from sketch2color.models import build_generator
from sketch2color.models.hint_spread import DEFAULT_SIGMAS, HintSpread, gaussian_taps

SIZE = 64
SKETCH = 3  # the base channels before the 4 hint channels


def hinted_input(*hints: tuple[int, int, tuple[float, float, float]]) -> np.ndarray:
    """(1, 64, 64, 7): a white sketch and one hint cell (4x4 px) per (row, col, color) in cells."""
    image = np.zeros((1, SIZE, SIZE, SKETCH + 4), np.float32)
    image[..., :SKETCH] = 1.0
    for row, col, color in hints:
        cell = np.s_[0, row * 4 : row * 4 + 4, col * 4 : col * 4 + 4]
        image[cell][..., SKETCH : SKETCH + 3] = color
        image[cell][..., SKETCH + 3] = 1.0
    return image


def spread(image: np.ndarray, sigmas=(2.0, 8.0)) -> np.ndarray:
    return keras.ops.convert_to_numpy(HintSpread(sigmas)(image))


def test_the_input_passes_through_and_each_scale_adds_four_planes():
    image = hinted_input((8, 8, (0.5, -0.5, 0.2)))
    out = spread(image, sigmas=(1.0, 3.0, 9.0))
    assert out.shape == (1, SIZE, SIZE, SKETCH + 4 + 3 * 4)
    np.testing.assert_array_equal(out[..., : SKETCH + 4], image)


def test_one_hint_gives_its_own_color_nearby_and_a_weight_that_falls_with_distance():
    color = (0.5, -0.5, 0.2)
    out = spread(hinted_input((8, 2, color)), sigmas=(4.0,))[0]
    spread_color, weight = out[..., 7:10], out[..., 10]
    np.testing.assert_allclose(spread_color[34, 10], color, atol=1e-5)  # inside the hint cell
    np.testing.assert_allclose(spread_color[34, 30], color, atol=1e-5)  # 5 cells away: the same color
    along_the_row = weight[34, 10:60:8]
    assert along_the_row[0] > 0.9 and np.all(np.diff(along_the_row) < 0)
    assert along_the_row[-1] < 0.1


def test_far_from_every_hint_the_spread_color_fades_to_zero():
    out = spread(hinted_input((0, 0, (0.9, 0.9, 0.9))), sigmas=(1.0,))[0]
    assert np.abs(out[60, 60, 7:]).max() < 1e-6  # 15 cells away at sigma 1 cell


def test_two_hints_blend_by_distance():
    red, blue = (1.0, -1.0, -1.0), (-1.0, -1.0, 1.0)
    out = spread(hinted_input((8, 2, red), (8, 13, blue)), sigmas=(4.0,))[0]
    red_channel = out[34, :, 7]
    middle = (2 * 4 + 13 * 4 + 4) // 2  # halfway between the two cells' centres, in pixels
    assert red_channel[middle] == pytest.approx(0.0, abs=0.05)
    assert red_channel[12] > 0.9 and red_channel[54] < -0.9
    assert np.all(np.diff(red_channel[12:54]) <= 1e-6)  # from red to blue, monotonically


def test_no_hints_add_only_zeros():
    out = spread(hinted_input())
    assert not out[..., SKETCH + 4 :].any()


def test_the_sketch_does_not_leak_into_the_spread():
    white, black = hinted_input((8, 8, (0.3, 0.3, 0.3))), hinted_input((8, 8, (0.3, 0.3, 0.3)))
    black[..., :SKETCH] = -1.0
    np.testing.assert_array_equal(spread(white)[..., SKETCH + 4 :], spread(black)[..., SKETCH + 4 :])


def test_gaussian_taps_peak_at_one_and_reach_three_sigma():
    taps = gaussian_taps(2.0)
    assert len(taps) == 2 * 6 + 1 and taps.max() == 1.0 and taps[len(taps) // 2] == 1.0
    assert taps[0] == pytest.approx(np.exp(-4.5))


def test_a_scale_must_be_positive():
    with pytest.raises(ValueError, match="hint_spread"):
        HintSpread((2.0, 0.0))


def test_a_unet_with_hint_spread_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(3)
    generator = build_generator("unet", image_size=SIZE, input_channels=7, base_filters=8, hint_spread=[2, 8])
    image = hinted_input((3, 3, (0.2, 0.4, -0.6)), (12, 9, (-0.8, 0.1, 0.7)))
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("hint_spread").sigmas == (2.0, 8.0)
    np.testing.assert_allclose(loaded(image, training=False), generator(image, training=False), atol=1e-6)


def test_hint_runs_spread_their_hints_by_default_and_old_runs_do_not():
    from sketch2color.config import ModelConfig, RunConfig, from_dict, to_dict
    from sketch2color.runs import generator_options

    config = RunConfig()
    config.data.hints = True
    assert generator_options(config)["hint_spread"] == DEFAULT_SIGMAS
    config.model.hint_spread = False  # --no-hint-spread
    assert "hint_spread" not in generator_options(config)
    config.model.hint_spread, config.data.hints = True, False  # nothing to spread without hints
    assert "hint_spread" not in generator_options(config)
    saved_before_the_option = {
        key: value for key, value in to_dict(ModelConfig()).items() if key != "hint_spread"
    }
    assert from_dict(ModelConfig, saved_before_the_option).hint_spread is False


def test_spreading_without_hints_is_refused_by_name():
    with pytest.raises(ValueError, match="--hints"):
        build_generator("unet", image_size=SIZE, input_channels=3, base_filters=8, hint_spread=[2])


def test_the_layer_runs_in_a_graph_of_unknown_size_as_exports_call_it():
    import tensorflow as tf

    layer = HintSpread((2.0,))
    graph = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, SKETCH + 4), tf.float32)])
    image = hinted_input((8, 2, (0.5, -0.5, 0.2)))[:, :48, :40]
    np.testing.assert_allclose(graph(image).numpy(), spread(image, sigmas=(2.0,)), atol=1e-6)
