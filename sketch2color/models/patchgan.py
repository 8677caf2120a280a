"""The pix2pix 70x70 PatchGAN discriminator: one real/fake logit per overlapping image patch.

At 256 px, conditional::

    concat(sketch, image)               (B, 256, 256, 6)
    disc_down_1  C64 (no norm)      ->  (B, 128, 128, 64)
    disc_down_2  C128               ->  (B, 64, 64, 128)
    disc_down_3  C256               ->  (B, 32, 32, 256)
    ZeroPadding2D                   ->  (B, 34, 34, 256)
    Conv 512 4x4 stride 1 (valid)   ->  (B, 31, 31, 512)  -> norm -> LeakyReLU(0.2)
    ZeroPadding2D                   ->  (B, 33, 33, 512)
    Conv 1 4x4 stride 1 (valid)     ->  (B, 30, 30, 1)    logits (no sigmoid)

Each output cell sees a 70x70 input window: working back from one cell, the receptive field
grows 1 -> 4 -> 7 (two stride-1 4x4 convs) -> 16 -> 34 -> 70 (three stride-2 4x4 convs);
cell (i, j) covers input rows 8i-23 .. 8i+46 (same for columns).

``norm="spectral"`` (Miyato et al., 2018; the reference colorizer's discriminator)
wraps every conv, the logits conv included, in ``keras.layers.SpectralNormalization`` (one
power iteration per training step) and drops batch norm; the convs then keep their biases.
Keras' wrapper rescales the conv's own kernel in place at each ``training=True`` call, so the
kernel stored in the model *is* the normalized one (spectral norm ~1 after a few steps).
The reference's PyTorch discriminator also puts GroupNorm after its inner convs; that is
left out here (spectral normalization alone, as its text describes).
"""

from __future__ import annotations

import math

import keras

from sketch2color.models.blocks import activation_layer, batch_norm, downsample, weight_initializer

# "spectral": keras.layers.SpectralNormalization around each conv, no batch norm.
NORMS = ("batch", "none", "spectral")
SPECTRAL_POWER_ITERATIONS = 1  # Miyato et al.: one iteration per step, u persists across steps
RECEPTIVE_FIELD = 70
MIN_IMAGE_SIZE = 24  # smallest input that still yields one output cell


def patch_grid_size(image_size: int) -> int:
    """Side of the logit map for a square input: three stride-2 convs, then two valid 4x4 convs."""
    size = image_size
    for _ in range(3):
        size = math.ceil(size / 2)
    return size - 2


def _check_norm(norm: str) -> None:
    """Reject norms this discriminator does not (yet) implement, naming the valid ones."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def _spectral(conv: keras.layers.Layer, norm: str, name: str | None = None) -> keras.layers.Layer:
    """``conv`` wrapped in spectral normalization when ``norm == "spectral"``, else as is."""
    if norm != "spectral":
        return conv
    return keras.layers.SpectralNormalization(conv, power_iterations=SPECTRAL_POWER_ITERATIONS, name=name)


def _downsample(filters: int, norm: str, apply_norm: bool, name: str) -> keras.Sequential:
    """A stride-2 C<filters> block with the discriminator's normalisation."""
    if norm == "spectral":
        conv = keras.layers.Conv2D(
            filters, 4, strides=2, padding="same", kernel_initializer=weight_initializer()
        )
        return keras.Sequential([_spectral(conv, norm), activation_layer("leaky_relu")], name=name)
    return downsample(filters, apply_batchnorm=apply_norm and norm == "batch", name=name)


def _inner_conv_block(filters: int, norm: str, name: str) -> keras.Sequential:
    """Conv 4x4 stride 1 (valid) -> norm -> LeakyReLU(0.2): the 31x31 layer before the logits."""
    layers = [
        _spectral(
            keras.layers.Conv2D(
                filters,
                4,
                strides=1,
                kernel_initializer=weight_initializer(),
                use_bias=norm != "batch",  # batch norm's beta replaces the bias
            ),
            norm,
        )
    ]
    if norm == "batch":
        layers.append(batch_norm())
    layers.append(activation_layer("leaky_relu"))
    return keras.Sequential(layers, name=name)


def patchgan_discriminator(
    image_size: int = 256,
    input_channels: int = 3,
    target_channels: int = 3,
    conditional: bool = True,
    norm: str = "batch",
    name: str | None = None,
    base_filters: int = 64,
) -> keras.Model:
    """Build the 70x70 PatchGAN: [sketch, image] (or just image) -> logits (B, h, w, 1).

    ``conditional=True`` takes two inputs, ``sketch`` and ``image``, and judges the pair;
    ``conditional=False`` takes ``image`` alone. ``norm`` is "batch" (pix2pix), "none" or
    "spectral" (spectral normalization on every conv, no batch norm).
    ``input_channels`` is the condition's width (3 for a sketch, 30 for the reference
    colorizer's sketch + palette), ``target_channels`` the judged image's (3).
    ``image_size`` is only checked (>= 24); the model runs at any H, W. ``base_filters``
    scales the widths (64 -> C64-C128-C256-C512; smaller only for quick experiments/tests).
    """
    widths = [base_filters * factor for factor in (1, 2, 4, 8)]
    _check_norm(norm)
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be >= {MIN_IMAGE_SIZE} for the PatchGAN to output at least one "
            f"patch, got {image_size}"
        )
    if name is None:
        name = "patchgan_discriminator" if conditional else "patchgan_discriminator_unconditional"

    image = keras.Input(shape=(None, None, target_channels), name="image")  # (B, H, W, out)
    if conditional:
        sketch = keras.Input(shape=(None, None, input_channels), name="sketch")  # (B, H, W, in)
        inputs = [sketch, image]
        x = keras.layers.Concatenate(name="pair")([sketch, image])  # (B, 256, 256, in + out)
    else:
        inputs = image
        x = image

    x = _downsample(widths[0], norm, apply_norm=False, name="disc_down_1")(x)  # (B, 128, 128, 64)
    x = _downsample(widths[1], norm, apply_norm=True, name="disc_down_2")(x)  # (B, 64, 64, 128)
    x = _downsample(widths[2], norm, apply_norm=True, name="disc_down_3")(x)  # (B, 32, 32, 256)

    x = keras.layers.ZeroPadding2D(name="pad_1")(x)  # (B, 34, 34, 256)
    x = _inner_conv_block(widths[3], norm, name="disc_conv_512")(x)  # (B, 31, 31, 512)
    x = keras.layers.ZeroPadding2D(name="pad_2")(x)  # (B, 33, 33, 512)

    if norm == "spectral":
        # The wrapper takes the name, so get_layer("logits_conv") works for every norm.
        conv = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=weight_initializer())
        logits_conv = _spectral(conv, norm, name="logits_conv")
    else:
        logits_conv = keras.layers.Conv2D(
            1, 4, strides=1, kernel_initializer=weight_initializer(), name="logits_conv"
        )
    x = logits_conv(x)  # (B, 30, 30, 1)
    # float32 logits so mixed-precision losses are computed at full precision.
    logits = keras.layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(inputs=inputs, outputs=logits, name=name)


def patchgan_spectral_discriminator(**kwargs) -> keras.Model:
    """The conditional PatchGAN with spectral normalization on every conv (Miyato et al. 2018)."""
    kwargs.setdefault("name", "patchgan_spectral_discriminator")
    return patchgan_discriminator(norm="spectral", **kwargs)
