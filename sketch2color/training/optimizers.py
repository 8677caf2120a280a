"""Adam with Keras' math and TensorFlow's one-pass kernel.

Keras' Adam updates each variable with about eight element-wise ops (m, v, their bias
correction, the step), and each op is a full pass over the variable and its two slots. For the
57M-parameter U-Net plus the PatchGAN that was 22-25% of a CPU training step at 128 px batch 4
and 256 px batch 1 (``benchmarks/bench_step_profile.py``). ``ResourceApplyAdam`` does the same
update in one pass.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sketch2color")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose per-variable update is TensorFlow's ``ResourceApplyAdam``.

    Same update as Keras' (alpha = lr sqrt(1 - b2^t) / (1 - b1^t); var -= alpha m / (sqrt(v) + eps)),
    same slot variables (checkpoints of either restore into the other). Under a tf.distribute
    strategy, and with amsgrad, it is Keras' own update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or tf.distribute.has_strategy():  # mirrored variables: Keras' path
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
