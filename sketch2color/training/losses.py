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

from sketch2color.data.pixels import HALF_RANGE
from sketch2color.models.pretrained import VGG16_NOTOP, vgg16_features

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


# --------------------------------------------------------------------------- total variation
#
# The reference-palette colorizer adds 1e-2 x the total variation of the generated image.
# tf.image.total_variation is a *sum* over pixels, so its size grows with the image and a fixed
# weight means something different at 128 and at 512 px. Here it is a mean instead:
#
#     TV = mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|
#
# each mean over its valid neighbour pairs and the channels, in the [-1, 1] value range:
# the anisotropic (L1) variation of tf.image.total_variation, normalized per pixel-channel.
# A flat image scores 0, a one-pixel +-1 checkerboard scores 2 + 2 = 4, anime art with flat
# fills ~0.05-0.2, so with weight 1e-2 it is a gentle smoothing term next to 100 x L1.


def total_variation_loss(images) -> tf.Tensor:
    """Mean absolute vertical + horizontal neighbour difference per example (B,); see above."""
    images = _float32(images)
    if images.shape.rank != 4:
        raise ValueError(f"total_variation_loss needs images [B, H, W, C], got shape {images.shape}")
    vertical = _per_example_mean(tf.abs(images[:, 1:, :, :] - images[:, :-1, :, :]))
    horizontal = _per_example_mean(tf.abs(images[:, :, 1:, :] - images[:, :, :-1, :]))
    return vertical + horizontal


# --------------------------------------------------------------------------- VGG16 feature loss
#
# The reference-palette colorizer's feature loss: "L2 distance between high level features of
# fake and real (extracted from four top layers of VGG16 pretrained on ImageNet)", weight 1e-4.
# The four top layers of the VGG16 feature network (include_top=False) are block5_conv1,
# block5_conv2, block5_conv3 and
# block5_pool: the most semantic features VGG16 has, which is what "high level" asks for.
# For each layer the squared difference is averaged over positions and channels; the four
# means are summed. Inputs are mapped from [-1, 1] to Keras' VGG16 preprocessing ("caffe": RGB
# -> BGR on 0..255, ImageNet channel means subtracted, no scaling), the convention the Keras
# ImageNet weights were trained with. Caffe inputs span 0..255, ~60x the range of torchvision's
# ImageNet-normalized inputs, so these features are larger and its 1e-4 (from a PyTorch
# implementation) may weigh more here than there: check the term's size in the logs.

VGG_FEATURE_LAYERS = ("block5_conv1", "block5_conv2", "block5_conv3", "block5_pool")
VGG16_WEIGHTS_FILE = VGG16_NOTOP.file_name
VGG_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, mode "caffe"


def vgg_preprocess(images) -> tf.Tensor:
    """[-1, 1] RGB -> Keras VGG16 input: 0..255, BGR, ImageNet means subtracted (float32)."""
    pixels = (_float32(images) + 1.0) * HALF_RANGE  # not to_255: no rounding, the gradient must flow
    return pixels[..., ::-1] - tf.constant(VGG_CAFFE_MEAN_BGR, tf.float32)


class VGGFeatureLoss:
    """The reference colorizer's feature loss: sum over VGG16 layers of the mean squared feature
    difference, (B,).

    ``loss = VGGFeatureLoss(); per_example = loss(target, generated)`` with images in [-1, 1].
    ``weights``: "imagenet" (from the Keras cache; ``models.pretrained.PretrainedWeightsUnavailable``
    if absent), a weights file path, or None (random weights, for tests). Build it inside
    ``strategy.scope()`` when training distributed. Gradients flow to ``generated`` only; the
    VGG16 is frozen.
    """

    def __init__(self, weights="imagenet", layers=VGG_FEATURE_LAYERS, cache_dir=None):
        self.layers = tuple(layers)
        self.model = vgg16_features(self.layers, weights, cache_dir)

    def features(self, images) -> list[tf.Tensor]:
        """The chosen layers' activations for [-1, 1] images (float32)."""
        outputs = self.model(vgg_preprocess(images), training=False)
        return [_float32(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]

    def __call__(self, target, generated) -> tf.Tensor:
        """Per-example feature distance (B,) between target and generated images."""
        target, generated = _float32(target), _float32(generated)
        batch = tf.shape(target)[0]
        # One VGG pass over both batches: half the kernel launches of two calls.
        both = self.features(tf.concat([target, generated], axis=0))
        distances = [_per_example_mean(tf.square(tf.stop_gradient(f[:batch]) - f[batch:])) for f in both]
        return tf.add_n(distances)
