"""Learning-rate schedules that resume correctly (they depend only on the optimizer's step)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sketch2color")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's schedule: ``initial`` for ``constant_steps``, then linearly to 0 over ``decay_steps``."""

    def __init__(self, initial_learning_rate: float, constant_steps: int, decay_steps: int):
        self.initial_learning_rate = float(initial_learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = max(1, int(decay_steps))

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        progress = tf.clip_by_value((step - self.constant_steps) / self.decay_steps, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


def learning_rate(initial: float, total_steps: int, decay_steps: int) -> float | ConstantThenLinearDecay:
    """A constant rate, or constant then a linear decay to 0 over the last ``decay_steps`` steps."""
    if decay_steps <= 0:
        return initial
    return ConstantThenLinearDecay(initial, max(0, total_steps - decay_steps), decay_steps)
