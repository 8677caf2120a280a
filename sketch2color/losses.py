"""GAN and reconstruction losses, one value per example.

Every function returns shape (B,): the mean over all non-batch axes. The training step
reduces them with ``tf.nn.compute_average_loss(per_example, global_batch_size=...)`` so the
same code gives the right gradients under a ``tf.distribute`` strategy (each replica divides
by the *global* batch size and the replicas' gradients are summed). Inputs are cast to
float32 first, so mixed-precision models (bfloat16/float16 logits) lose nothing here.

Adversarial modes (``mode=``):

- ``"vanilla"``: pix2pix; binary cross-entropy on logits, real label 1, fake label 0.
- ``"lsgan"``: least squares on the raw outputs, targets 1 (real) and 0 (fake).
- ``"hinge"``: D: relu(1 - real) + relu(1 + fake); G: -fake.

The discriminator loss is halved (0.5 * (real + fake)) in every mode, as in pix2pix, which
slows D relative to G.
"""

from __future__ import annotations

import tensorflow as tf

ADVERSARIAL_MODES = ("vanilla", "lsgan", "hinge")


def _per_example_mean(values: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch axis: (B, ...) -> (B,)."""
    rank = values.shape.rank
    if rank is None:
        raise ValueError("losses need tensors of known rank")
    if rank <= 1:
        return values
    return tf.reduce_mean(values, axis=list(range(1, rank)))


def _float32(x) -> tf.Tensor:
    """``x`` as a float32 tensor (mixed-precision outputs are bfloat16/float16)."""
    return tf.cast(x, tf.float32)


def _check_mode(mode: str) -> None:
    """Raise ValueError for an unknown adversarial mode, listing the valid ones."""
    if mode not in ADVERSARIAL_MODES:
        raise ValueError(f"adversarial loss mode must be one of {ADVERSARIAL_MODES}, got {mode!r}")


def _bce_with_logits(logits: tf.Tensor, label: float) -> tf.Tensor:
    """Per-element binary cross-entropy of ``logits`` against a constant label."""
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), label), logits=logits)


def generator_adversarial_loss(fake_logits, mode: str = "vanilla") -> tf.Tensor:
    """How badly G fails to fool D on its fakes, per example (B,)."""
    _check_mode(mode)
    fake = _float32(fake_logits)
    if mode == "vanilla":
        per_element = _bce_with_logits(fake, 1.0)  # G wants its fakes called real
    elif mode == "lsgan":
        per_element = tf.square(fake - 1.0)
    else:  # hinge
        per_element = -fake
    return _per_example_mean(per_element)


def discriminator_adversarial_loss(real_logits, fake_logits, mode: str = "vanilla") -> tf.Tensor:
    """0.5 * (loss on real pairs + loss on fake pairs), per example (B,)."""
    _check_mode(mode)
    real = _float32(real_logits)
    fake = _float32(fake_logits)
    if mode == "vanilla":
        real_loss = _bce_with_logits(real, 1.0)
        fake_loss = _bce_with_logits(fake, 0.0)
    elif mode == "lsgan":
        real_loss = tf.square(real - 1.0)
        fake_loss = tf.square(fake)
    else:  # hinge
        real_loss = tf.nn.relu(1.0 - real)
        fake_loss = tf.nn.relu(1.0 + fake)
    # Means taken separately: real and fake logit maps may differ in size for other critics.
    return 0.5 * (_per_example_mean(real_loss) + _per_example_mean(fake_loss))


def l1_loss(target, generated) -> tf.Tensor:
    """Mean absolute error per example (B,): pix2pix's reconstruction term."""
    return _per_example_mean(tf.abs(_float32(target) - _float32(generated)))


def l2_loss(target, generated) -> tf.Tensor:
    """Mean squared error per example (B,)."""
    return _per_example_mean(tf.square(_float32(target) - _float32(generated)))
