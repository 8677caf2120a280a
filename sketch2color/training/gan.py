"""pix2pix as a ``keras.Model``: ``fit`` trains generator and discriminator together.

    generator = build_generator("unet", image_size=256)
    discriminator = build_discriminator("patchgan", image_size=256)
    model = Pix2Pix(generator, discriminator, l1_weight=100.0)
    model.compile(*default_optimizers(decay_steps=total_steps))
    model.fit(train_pairs, validation_data=val_pairs, epochs=...)  # (sketch, color) batches

Each training step runs G and D once under one pair of gradient tapes and updates both
(Isola et al., 2017): G minimises adversarial + l1_weight * L1, D minimises half the sum of
its losses on real and fake pairs. The step is distribution-ready: per-example losses are
averaged over the *global* batch (``tf.nn.compute_average_loss``), so build and compile the
model inside ``strategy.scope()`` and ``fit`` runs unchanged on several replicas.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from sketch2color.training.losses import (
    ADVERSARIAL_MODES,
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    l1_loss,
    l2_loss,
    total_variation_loss,
)
from sketch2color.training.optimizers import FusedAdam
from sketch2color.training.schedules import learning_rate as schedule

DEFAULT_LEARNING_RATE = 2e-4  # pix2pix
DEFAULT_BETA_1 = 0.5  # pix2pix / DCGAN: less momentum keeps the GAN game stable


def default_optimizers(
    learning_rate: float = DEFAULT_LEARNING_RATE,
    beta_1: float = DEFAULT_BETA_1,
    decay_steps: int | None = None,
) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Two Adam optimizers (generator, discriminator) with the pix2pix settings.

    With ``decay_steps`` the learning rate falls linearly to 0 over that many steps. The
    schedule reads ``optimizer.iterations``, so a run resumed from a checkpoint (which
    restores the iteration counters) continues the decay where it stopped.
    """
    if decay_steps is not None and decay_steps < 1:
        raise ValueError(f"decay_steps must be a positive number of steps, got {decay_steps}")
    steps = decay_steps or 0

    return (
        FusedAdam(schedule(learning_rate, steps, steps), beta_1=beta_1, name="generator_adam"),
        FusedAdam(schedule(learning_rate, steps, steps), beta_1=beta_1, name="discriminator_adam"),
    )


def _is_conditional(discriminator: keras.Model) -> bool:
    """Whether D takes (sketch, image) rather than the image alone (functional models)."""
    inputs = getattr(discriminator, "inputs", None)
    return inputs is None or len(inputs) > 1


class Pix2Pix(keras.Model):
    """A conditional GAN wrapping a generator (sketch -> color) and a PatchGAN-style critic.

    ``call`` runs the generator, so ``model.predict(sketches)`` colorizes. Metrics (reset by
    ``fit`` every epoch): gen_total_loss, gen_gan_loss, gen_l1_loss, disc_loss, plus
    gen_l2_loss / gen_feature_loss / gen_tv_loss for the terms with a non-zero weight.

    The generator loss is ``adversarial + l1_weight L1 + l2_weight L2 + feature_weight VGG +
    tv_weight TV``. With ``discriminator=None`` there is no adversary: a plain encoder-decoder
    trained on its reconstruction terms (the ConvNet-L2 baseline).

    With ``ema_generator`` (a second, identically built generator) each step also updates an
    exponential moving average of the generator's weights into it (Yazici et al. 2019, "The
    Unusual Effectiveness of Averaging in GAN Training"); ``inference_generator`` is that copy,
    and ``test_step`` scores it.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model | None,
        l1_weight: float = 100.0,
        adversarial_loss: str = "vanilla",
        l2_weight: float = 0.0,
        feature_weight: float = 0.0,
        tv_weight: float = 0.0,
        feature_loss=None,
        ema_generator: keras.Model | None = None,
        ema_decay: float = 0.999,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if adversarial_loss not in ADVERSARIAL_MODES:
            raise ValueError(f"adversarial_loss must be one of {ADVERSARIAL_MODES}, got {adversarial_loss!r}")
        if feature_weight and feature_loss is None:
            raise ValueError("feature_weight > 0 needs a feature_loss (e.g. losses.VGGFeatureLoss())")
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = float(l1_weight)
        self.l2_weight = float(l2_weight)
        self.feature_weight = float(feature_weight)
        self.tv_weight = float(tv_weight)
        self.feature_loss = feature_loss
        self.adversarial_loss = adversarial_loss
        if ema_generator is not None:
            if not 0.0 < ema_decay < 1.0:
                raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
            if len(ema_generator.weights) != len(generator.weights):
                raise ValueError("ema_generator must be a second copy of the generator (same weights)")
            ema_generator.set_weights(generator.get_weights())
            ema_generator.trainable = False  # updated by averaging, never by a gradient
        self.ema_generator = ema_generator
        self.ema_decay = float(ema_decay)
        # A conditional D judges (sketch, image) pairs; an unconditional one the image alone.
        self.conditional = discriminator is not None and _is_conditional(discriminator)
        names = ["gen_total_loss", "gen_l1_loss"]
        names += ["gen_gan_loss", "disc_loss"] if discriminator is not None else []
        names += [
            name
            for name, weight in (
                ("gen_l2_loss", l2_weight),
                ("gen_feature_loss", feature_weight),
                ("gen_tv_loss", tv_weight),
            )
            if weight
        ]
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        """The loss trackers; listing them here lets ``fit`` reset them each epoch."""
        return list(self.loss_trackers.values())

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Set the two optimizers (default: :func:`default_optimizers`, Adam(2e-4, beta_1=0.5)).

        Other keyword arguments go to ``keras.Model.compile`` (e.g. ``jit_compile``,
        ``steps_per_execution``). Under the "mixed_float16" policy each optimizer is wrapped in
        a ``LossScaleOptimizer`` (Keras only does that for its own single-optimizer step);
        bfloat16 needs no loss scaling. Call it inside ``strategy.scope()`` when distributing.
        """
        if g_optimizer is None or d_optimizer is None:
            default_g, default_d = default_optimizers()
            g_optimizer = g_optimizer if g_optimizer is not None else default_g
            d_optimizer = d_optimizer if d_optimizer is not None else default_d
        if g_optimizer is d_optimizer:
            raise ValueError("the generator and the discriminator need two separate optimizers")
        auto_scale_loss = kwargs.pop("auto_scale_loss", True)
        # No Model.optimizer: Keras would otherwise build an unused RMSprop with slots for
        # every weight of both networks.
        kwargs.setdefault("optimizer", None)
        super().compile(**kwargs)

        if auto_scale_loss and self._uses_float16():
            g_optimizer = _with_loss_scaling(g_optimizer, "generator_loss_scale_optimizer")
            d_optimizer = _with_loss_scaling(d_optimizer, "discriminator_loss_scale_optimizer")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Create the slot variables now (in the caller's strategy scope) rather than inside
        # the first distributed step.
        if not g_optimizer.built:
            g_optimizer.build(self.generator.trainable_variables)
        if not d_optimizer.built and self.discriminator is not None:
            d_optimizer.build(self.discriminator.trainable_variables)

    def _uses_float16(self) -> bool:
        """Whether either network computes in float16 (and so needs loss scaling)."""
        return any(
            net.dtype_policy.name == "mixed_float16"
            for net in (self.generator, self.discriminator)
            if net is not None
        )

    @property
    def inference_generator(self) -> keras.Model:
        """The generator users get: the weight average when there is one (validation, previews,
        export, evaluate), else the trained generator itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        """Colorize: run the generator on a sketch batch (or a dict with a "sketch" entry); at
        inference the weight average when there is one, as the export does."""
        if isinstance(inputs, dict):
            inputs = inputs["sketch"]
        generator = self.generator if training else self.inference_generator
        return generator(inputs, training=training)

    def _update_weight_average(self):
        """ema <- d ema + (1 - d) weights, with d = min(ema_decay, (1 + n) / (10 + n)) at step n.

        The warm-up (``tf.train.ExponentialMovingAverage``'s num_updates rule) keeps a short run's
        average from being dominated by its first, untrained weights. Non-trainable weights (batch
        norm's moving statistics) are copied; recalibration then redoes them under the average.
        """
        steps = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + steps) / (10.0 + steps))
        # By position in .weights: the copy is frozen (trainable=False), so its own split differs.
        # extended.update wants the tf.Variables under Keras's (a MirroredVariable in a strategy).
        pairs = [
            (average.value, weight.value, weight.trainable)
            for average, weight in zip(self.ema_generator.weights, self.generator.weights)
        ]

        def average_step(average, weight):
            return average.assign_sub((1.0 - decay) * (average - tf.cast(weight, average.dtype)))

        def copy_step(average, weight):
            return average.assign(tf.cast(weight, average.dtype))

        def update(strategy):
            # Cross-replica: each replica's copy of the average follows its (equal) generator copy.
            for average, weight, trainable in pairs:
                strategy.extended.update(average, average_step if trainable else copy_step, args=(weight,))

        tf.distribute.get_replica_context().merge_call(update)

    def _unpack(self, data):
        """Split a batch into (sketch, color): a (sketch, color) tuple or a dict with both keys.

        Extra conditioning inputs (e.g. color hints) will arrive as more dict entries.
        """
        inputs, color, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("Pix2Pix does not support sample weights")
        if isinstance(inputs, dict):
            sketch = inputs["sketch"]
            color = inputs["color"] if color is None else color
        else:
            sketch = inputs
        if color is None:
            raise ValueError("Pix2Pix batches must be (sketch, color) pairs; got no color target")
        return sketch, color

    def _discriminate(self, sketch, image, training):
        """D's logits for an image, paired with its sketch when D is conditional."""
        if self.conditional:
            return self.discriminator([sketch, image], training=training)
        return self.discriminator(image, training=training)

    def _per_example_losses(self, sketch, color, training, generator=None):
        """Run G (``generator``: another copy, e.g. the average) once and D on the real and the
        fake pair; return each loss per example (B,)."""
        fake = (generator or self.generator)(sketch, training=training)  # (B, H, W, 3)
        losses = {"gen_l1_loss": l1_loss(color, fake)}
        total = self.l1_weight * losses["gen_l1_loss"]
        if self.l2_weight:
            losses["gen_l2_loss"] = l2_loss(color, fake)
            total += self.l2_weight * losses["gen_l2_loss"]
        if self.feature_weight:
            losses["gen_feature_loss"] = self.feature_loss(color, fake)
            total += self.feature_weight * losses["gen_feature_loss"]
        if self.tv_weight:
            losses["gen_tv_loss"] = total_variation_loss(fake)
            total += self.tv_weight * losses["gen_tv_loss"]
        if self.discriminator is not None:
            real_logits = self._discriminate(sketch, color, training)  # (B, h, w, 1)
            fake_logits = self._discriminate(sketch, fake, training)
            losses["gen_gan_loss"] = generator_adversarial_loss(fake_logits, mode=self.adversarial_loss)
            total += losses["gen_gan_loss"]
            losses["disc_loss"] = discriminator_adversarial_loss(
                real_logits, fake_logits, mode=self.adversarial_loss
            )
        losses["gen_total_loss"] = total
        return losses

    @staticmethod
    def _regularization_loss(network: keras.Model) -> tf.Tensor:
        """The network's weight-regularization losses (0 when it has none), in float32."""
        if not network.losses:
            return tf.constant(0.0, tf.float32)
        return tf.add_n([tf.cast(loss, tf.float32) for loss in network.losses])

    def _update_trackers(self, per_example, gen_regularization, disc_regularization):
        """Feed the per-example losses to the trackers and return their current means.

        Per-example updates weight batches by their size, and under a strategy Keras sums the
        trackers' totals and counts over replicas, so the result is the global mean.
        """
        regularization = {"gen_total_loss": gen_regularization, "disc_loss": disc_regularization}
        for name, tracker in self.loss_trackers.items():
            tracker.update_state(per_example[name] + regularization.get(name, 0.0))
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def train_step(self, data):
        """One pix2pix update of G and D from the same forward pass."""
        sketch, color = self._unpack(data)
        # Each replica divides by the global batch; the optimizers sum the replicas' gradients.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        global_batch_size = tf.shape(sketch)[0] * replicas

        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            per_example = self._per_example_losses(sketch, color, training=True)
            gen_regularization = self._regularization_loss(self.generator)
            gen_loss = tf.nn.compute_average_loss(
                per_example["gen_total_loss"], global_batch_size=global_batch_size
            ) + tf.nn.scale_regularization_loss(gen_regularization)
            # Identity unless the optimizer is a LossScaleOptimizer (mixed_float16).
            scaled_gen_loss = self.g_optimizer.scale_loss(gen_loss)
            if self.discriminator is not None:
                disc_regularization = self._regularization_loss(self.discriminator)
                disc_loss = tf.nn.compute_average_loss(
                    per_example["disc_loss"], global_batch_size=global_batch_size
                ) + tf.nn.scale_regularization_loss(disc_regularization)
                scaled_disc_loss = self.d_optimizer.scale_loss(disc_loss)
            else:
                disc_regularization = tf.constant(0.0)

        gen_variables = self.generator.trainable_variables
        gen_gradients = gen_tape.gradient(scaled_gen_loss, gen_variables)
        self.g_optimizer.apply_gradients(zip(gen_gradients, gen_variables))
        if self.discriminator is not None:
            disc_variables = self.discriminator.trainable_variables
            disc_gradients = disc_tape.gradient(scaled_disc_loss, disc_variables)
            self.d_optimizer.apply_gradients(zip(disc_gradients, disc_variables))
        if self.ema_generator is not None:
            self._update_weight_average()

        return self._update_trackers(per_example, gen_regularization, disc_regularization)

    def test_step(self, data):
        """The training losses without any update: no dropout, no batch-norm statistic changes."""
        sketch, color = self._unpack(data)
        per_example = self._per_example_losses(
            sketch, color, training=False, generator=self.inference_generator
        )
        disc_regularization = (
            self._regularization_loss(self.discriminator)
            if self.discriminator is not None
            else tf.constant(0.0)
        )
        return self._update_trackers(
            per_example, self._regularization_loss(self.generator), disc_regularization
        )


def _with_loss_scaling(optimizer, name: str):
    """``optimizer`` wrapped in a dynamic LossScaleOptimizer (unless it already is one)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=name)
