"""FusedAdam (TensorFlow's one-pass ResourceApplyAdam) trains exactly as Keras' Adam."""

from __future__ import annotations

from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from sketch2color.config import RunConfig
from sketch2color.training import build_gan, loop
from sketch2color.training.optimizers import FusedAdam


def dense_run(optimizer_class, steps: int = 20):
    """(losses, weights) of a small regression trained with ``optimizer_class``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    optimizer = optimizer_class(learning_rate=1e-2, beta_1=0.5)
    x, y = tf.random.stateless_normal((32, 8), (1, 2)), tf.random.stateless_normal((32, 1), (3, 4))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        optimizer.apply_gradients(
            zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        )
        return loss

    losses = [float(step()) for _ in range(steps)]
    return np.array(losses), [w.numpy() for w in model.weights]


def test_fused_adam_follows_keras_adam_step_for_step():
    keras_losses, keras_weights = dense_run(keras.optimizers.Adam)
    fused_losses, fused_weights = dense_run(FusedAdam)
    assert keras_losses[-1] < 0.7 * keras_losses[0]  # it trains at all
    np.testing.assert_allclose(fused_losses, keras_losses, rtol=1e-5, atol=1e-6)
    for fused, ours in zip(fused_weights, keras_weights):
        np.testing.assert_allclose(fused, ours, atol=1e-5)


def pix2pix_losses(optimizer_class, steps: int = 3) -> list[dict[str, float]]:
    """Logged losses of ``steps`` pix2pix steps at 32 px, dropout and all, with fixed seeds."""
    config = RunConfig()
    config.data.image_size = 32
    keras.utils.set_random_seed(1)
    with mock.patch.object(loop, "FusedAdam", optimizer_class):
        gan = build_gan(config, steps)
    assert all(isinstance(o, optimizer_class) for o in (gan.g_optimizer, gan.d_optimizer))
    shape = (2, 32, 32, 3)
    batch = (
        tf.random.stateless_uniform(shape, (5, 6), -1, 1),
        tf.random.stateless_uniform(shape, (7, 8), -1, 1),
    )
    keras.utils.set_random_seed(2)  # the same dropout masks in both runs
    return [gan.train_on_batch(*batch, return_dict=True) for _ in range(steps)]


def test_a_pix2pix_run_logs_the_same_losses_with_either_adam():
    fused, stock = pix2pix_losses(FusedAdam), pix2pix_losses(keras.optimizers.Adam)
    for ours, theirs in zip(fused, stock):
        for name in ("gen_total_loss", "gen_l1_loss", "disc_loss"):
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-4, err_msg=name)
    assert fused[-1]["gen_l1_loss"] != fused[0]["gen_l1_loss"]  # the weights moved
