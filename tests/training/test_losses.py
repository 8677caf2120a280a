"""Tests of the reference colorizer's extra losses: total variation and the VGG16 feature loss (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from sketch2color.models.pretrained import PretrainedWeightsUnavailable
from sketch2color.training.losses import (
    VGG16_WEIGHTS_FILE,
    VGG_FEATURE_LAYERS,
    VGGFeatureLoss,
    total_variation_loss,
    vgg_preprocess,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- total variation


def test_total_variation_of_a_flat_image_is_zero():
    flat = tf.fill([2, 8, 8, 3], 0.3)
    np.testing.assert_array_equal(total_variation_loss(flat).numpy(), [0.0, 0.0])


def test_total_variation_hand_computed_values():
    # One-pixel checkerboard of +-0.5: every neighbour pair differs by 1 -> 1 + 1.
    checker = (np.indices((6, 6)).sum(0) % 2 - 0.5).astype(np.float32)
    # A single 1 in the middle of a 3x3 zero image: 2 of the 6 vertical pairs and 2 of the
    # 6 horizontal pairs differ by 1 -> 2/6 + 2/6.
    dot = np.zeros((3, 3), np.float32)
    dot[1, 1] = 1.0
    checker_tv = total_variation_loss(np.broadcast_to(checker[None, :, :, None], (1, 6, 6, 3)))
    dot_tv = total_variation_loss(dot[None, :, :, None])
    np.testing.assert_allclose(checker_tv.numpy(), [2.0], rtol=1e-6)
    np.testing.assert_allclose(dot_tv.numpy(), [2 / 3], rtol=1e-6)


def test_total_variation_is_per_example_and_size_independent():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (3, 16, 16, 3)).astype(np.float32)
    images[1] = 0.0
    values = total_variation_loss(tf.constant(images, tf.bfloat16))
    assert values.shape == (3,) and values.dtype == tf.float32
    assert values[1] == 0.0 and values[0] > 0 and values[2] > 0
    # Normalized per pixel: a checkerboard scores the same at 8 and 64 px.
    small, large = ((np.indices((n, n)).sum(0) % 2).astype(np.float32)[None, :, :, None] for n in (8, 64))
    np.testing.assert_allclose(total_variation_loss(small), total_variation_loss(large), rtol=1e-6)


# --------------------------------------------------------------------------- VGG feature loss


@pytest.fixture(scope="module")
def random_vgg_loss() -> VGGFeatureLoss:
    """The feature loss on random VGG16 weights (no download): structure tests only."""
    return VGGFeatureLoss(weights=None)


@pytest.fixture(scope="module")
def images() -> tuple[tf.Tensor, tf.Tensor]:
    """Two different batches of three 32x32 images in [-1, 1]."""
    rng = np.random.default_rng(1)
    first, second = rng.uniform(-1, 1, (2, 3, 32, 32, 3)).astype(np.float32)
    return tf.constant(first), tf.constant(second)


def test_vgg_loss_is_zero_for_identical_and_positive_for_different_images(random_vgg_loss, images):
    target, other = images
    np.testing.assert_array_equal(random_vgg_loss(target, target).numpy(), np.zeros(3, np.float32))
    generated = tf.concat([target[:1], other[1:]], axis=0)  # example 0 identical, 1 and 2 not
    values = random_vgg_loss(target, generated).numpy()
    assert values.shape == (3,) and values.dtype == np.float32
    assert values[0] == 0.0 and np.all(values[1:] > 0)


def test_vgg_loss_uses_the_four_top_layers_frozen(random_vgg_loss):
    assert (
        random_vgg_loss.layers
        == VGG_FEATURE_LAYERS
        == ("block5_conv1", "block5_conv2", "block5_conv3", "block5_pool")
    )
    assert not random_vgg_loss.model.trainable and not random_vgg_loss.model.trainable_weights
    assert all(w.dtype == "float32" for w in random_vgg_loss.model.weights)


def test_vgg_loss_gradients_reach_the_generated_image_only(random_vgg_loss, images):
    target, generated = images
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([target, generated])
        loss = tf.reduce_mean(random_vgg_loss(target, generated))
    to_generated = tape.gradient(loss, generated)
    assert to_generated is not None and float(tf.reduce_max(tf.abs(to_generated))) > 0
    to_target = tape.gradient(loss, target)  # the target's features are constants
    assert to_target is None or not np.any(to_target.numpy())


def test_vgg_preprocessing_matches_keras(images):
    import keras

    batch = images[0].numpy()
    by_hand = keras.applications.vgg16.preprocess_input(((batch + 1.0) * 127.5).copy())
    np.testing.assert_allclose(vgg_preprocess(batch).numpy(), by_hand, atol=1e-4)


def test_vgg_runs_in_float32_under_mixed_precision(images):
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        loss = VGGFeatureLoss(weights=None)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # restored after the build
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert all(layer.dtype_policy.name == "float32" for layer in loss.model.layers)
    assert loss(images[0], tf.cast(images[1], tf.bfloat16)).dtype == tf.float32


def test_vgg_weights_from_a_local_file(tmp_path, images):
    import keras

    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    loss = VGGFeatureLoss(weights=str(path))
    preprocessed = vgg_preprocess(images[0])
    expected = keras.Model(reference.input, [reference.get_layer(n).output for n in VGG_FEATURE_LAYERS])(
        preprocessed
    )
    for ours, theirs in zip(loss.features(images[0]), expected):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_missing_or_broken_weights_files_raise_our_error(tmp_path):
    with pytest.raises(PretrainedWeightsUnavailable, match="not found"):
        VGGFeatureLoss(weights=str(tmp_path / "missing.h5"))
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not an hdf5 file")
    with pytest.raises(PretrainedWeightsUnavailable, match="cannot load"):
        VGGFeatureLoss(weights=str(broken))


def test_imagenet_weights_offline_are_one_error_naming_the_file_and_the_ways_out(tmp_path):
    # conftest points every proxy at a closed port: the download Keras would make fails at once.
    with pytest.raises(PretrainedWeightsUnavailable) as caught:
        VGGFeatureLoss(weights="imagenet", cache_dir=tmp_path / "models")
    message = str(caught.value)
    assert "\n" not in message and "downloading it failed" in message and "offline" in message
    assert str(tmp_path / "models" / VGG16_WEIGHTS_FILE) in message  # where Keras would cache it
    for way_out in ("--vgg-weights FILE", "--vgg-weights random", "--feature-weight 0"):
        assert way_out in message
    assert not list((tmp_path / "models").glob("*")), "no partial download is left behind"
