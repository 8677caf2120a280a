"""Precise batch norm: moving statistics recomputed under the current weights before inference."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch2color.config import RunConfig
from sketch2color.models import build_generator
from sketch2color.models.blocks import all_layers
from sketch2color.training import build_gan
from sketch2color.training import callbacks as cb


def conv_bn_model() -> tuple[keras.Model, keras.Model]:
    """(conv -> BN -> dropout -> conv model, the sub-model up to the BN input)."""
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    normed = keras.layers.BatchNormalization(momentum=0.9, name="bn")(features)
    dropped = keras.layers.Dropout(0.5, name="drop")(normed)
    outputs = keras.layers.Conv2D(3, 1)(dropped)
    return keras.Model(inputs, outputs), keras.Model(inputs, features)


def test_moving_statistics_become_the_mean_batch_statistics():
    model, features = conv_bn_model()
    rng = np.random.default_rng(0)
    # Three batches from different distributions, so a plain momentum update would differ.
    batches = [
        (rng.normal(shift, 1 + shift, (5, 8, 8, 3)).astype(np.float32), None) for shift in (0.0, 2.0, 5.0)
    ]
    used = cb.recalibrate_batch_norm(model, batches)
    assert used == 3

    means = [features(x).numpy().mean(axis=(0, 1, 2)) for x, _ in batches]
    variances = [features(x).numpy().var(axis=(0, 1, 2)) for x, _ in batches]
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean(variances, axis=0), rtol=1e-4, atol=1e-5)
    # Settings are restored afterwards.
    assert bn.momentum == pytest.approx(0.9)
    assert model.get_layer("drop").rate == pytest.approx(0.5)


def test_a_frozen_model_is_recalibrated_too():
    """The weight average is a frozen copy (trainable=False), and a frozen Keras batch norm runs in
    inference mode even under training=True: recalibration must still recompute its statistics."""
    model, features = conv_bn_model()
    model.trainable = False
    batch = np.random.default_rng(3).normal(4.0, 3.0, (6, 8, 8, 3)).astype(np.float32)
    assert cb.recalibrate_batch_norm(model, [(batch, None)]) == 1
    bn = model.get_layer("bn")
    computed = features(batch).numpy()
    np.testing.assert_allclose(bn.moving_mean.numpy(), computed.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), computed.var(axis=(0, 1, 2)), rtol=1e-4, atol=1e-4)
    assert not bn.trainable and not model.trainable_weights  # frozen again afterwards


def test_inference_after_recalibration_on_one_batch_equals_batch_statistics():
    """One batch: the U-Net at training=False reproduces batch-statistics outputs without dropout."""
    keras.utils.set_random_seed(1)
    generator = build_generator("unet", image_size=32, base_filters=8)
    batch = tf.random.uniform((4, 32, 32, 3), -1, 1, seed=2)
    before = generator(batch, training=False).numpy()
    assert cb.recalibrate_batch_norm(generator, [(batch, None)]) == 1
    after = generator(batch, training=False).numpy()

    dropouts = [layer for layer in all_layers(generator) if isinstance(layer, keras.layers.Dropout)]
    assert dropouts and all(layer.rate == pytest.approx(0.5) for layer in dropouts)
    for layer in dropouts:
        layer.rate = 0.0
    reference = generator(batch, training=True).numpy()  # batch statistics, no dropout
    np.testing.assert_allclose(after, reference, atol=2e-3)
    assert np.abs(before - reference).mean() > 10 * np.abs(after - reference).mean()


def test_models_without_batch_norm_are_left_alone():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs))
    weights = [w.numpy().copy() for w in model.weights]
    assert cb.recalibrate_batch_norm(model, [(np.zeros((1, 8, 8, 3), np.float32), None)]) == 0
    for old, new in zip(weights, model.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_callback_recalibrates_once_per_epoch_before_validation(monkeypatch):
    calls = []
    real = cb.recalibrate_batch_norm

    def spy(model, batches):
        calls.append(len(calls))
        return real(model, batches)

    monkeypatch.setattr(cb, "recalibrate_batch_norm", spy)
    config = RunConfig()
    config.data.image_size = 32
    config.model.generator_kwargs = {"base_filters": 8}
    config.model.discriminator_kwargs = {"base_filters": 8}
    gan = build_gan(config, steps_per_epoch=2)
    shape = (2, 32, 32, 3)
    data = tf.data.Dataset.from_tensors(
        (tf.random.uniform(shape, -1, 1), tf.random.uniform(shape, -1, 1))
    ).repeat()
    seen_by_validation = []

    class Probe(keras.callbacks.Callback):  # what validation sees: the already recalibrated generator
        def on_test_begin(self, logs=None):
            seen_by_validation.append(len(calls))

    recalibration = cb.BatchNormRecalibration(gan.generator, data, batches=3)
    gan.fit(
        data,
        steps_per_epoch=2,
        epochs=2,
        validation_data=data.take(1),
        callbacks=[recalibration, Probe()],
        verbose=0,
    )
    assert len(calls) == 2  # once per epoch, not again at the epoch end
    assert seen_by_validation == [1, 2]

    calls.clear()
    gan.fit(
        data,
        steps_per_epoch=2,
        epochs=1,
        callbacks=[cb.BatchNormRecalibration(gan.generator, data, batches=0)],
        verbose=0,
    )
    assert calls == []  # 0 turns it off
