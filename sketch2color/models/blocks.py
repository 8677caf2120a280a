"""Shared pieces of every network: the pix2pix blocks, the sizing rules, the precision policy.

The two building blocks of pix2pix are a stride-2 downsampling block and its upsampling mirror.

Both follow the pix2pix paper (Isola et al., 2017, appendix 6.1): 4x4 kernels, stride 2,
weights drawn from N(0, 0.02), batch norm, leaky ReLU (slope 0.2) going down and plain ReLU
going up. Each block is a named ``keras.Sequential`` so it can be dropped into a functional
graph and found again with ``model.get_layer(name)``.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import keras

LEAKY_RELU_SLOPE = 0.2  # pix2pix value; Keras' LeakyReLU default is 0.3
INIT_STDDEV = 0.02  # pix2pix / DCGAN weight initialisation
# PyTorch's BatchNorm momentum 0.1 (the reference pix2pix) is Keras momentum 0.9. Keras' own
# 0.99 makes the moving statistics lag ~10x longer, so previews and exports (training=False)
# of a short run look washed out long after the batch statistics have settled.
BATCHNORM_MOMENTUM = 0.9

# Custom layers register under one package name, so saved .keras files load them by name.
serializable = keras.saving.register_keras_serializable(package="sketch2color")


def all_layers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Every layer inside ``layer``: nested models, Sequential blocks and custom layers' sublayers."""
    return list(layer._flatten_layers(include_self=False, recursive=True))


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization inside ``model``."""
    return [layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def batch_norm(name: str | None = None) -> keras.layers.Layer:
    """Batch normalization with pix2pix's (PyTorch) momentum."""
    return keras.layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM, name=name)


def synchronize_batch_norm(model: keras.Model) -> int:
    """Make every BatchNormalization in ``model`` compute its statistics over all replicas'
    batches (Keras' ``synchronized=True``); returns how many there are.

    Set after building, so every registered architecture gets it without a new argument; the
    flag is read when the layer is called, and the variables are the same with or without it.
    """
    norms = batch_norm_layers(model)
    for layer in norms:
        layer.synchronized = True
    return len(norms)


def weight_initializer(seed: int | None = None) -> keras.initializers.Initializer:
    """N(0, 0.02), the initialisation used for every conv in pix2pix."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=INIT_STDDEV, seed=seed)


def activation_layer(kind: str, name: str | None = None) -> keras.layers.Layer:
    """A pix2pix activation: "leaky_relu" (slope 0.2, encoder/critic) or "relu" (decoder)."""
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=name)
    if kind == "relu":
        return keras.layers.ReLU(name=name)
    raise ValueError(f"activation must be 'leaky_relu' or 'relu', got {kind!r}")


def tanh_image(x):
    """The generators' last layer: tanh in float32, so mixed-precision models still return
    float32 images in [-1, 1]."""
    return keras.layers.Activation("tanh", dtype="float32", name="output_tanh")(x)


def upsampling_output(x, output_channels: int):
    """pix2pix's output head: 4x4 stride-2 ConvTranspose + tanh, (B, H/2, W/2, C) -> (B, H, W, out)."""
    x = keras.layers.Conv2DTranspose(
        output_channels,
        4,
        strides=2,
        padding="same",
        kernel_initializer=weight_initializer(),
        name="output_conv",
    )(x)
    return tanh_image(x)


def downsample(
    filters: int,
    size: int = 4,
    apply_batchnorm: bool = True,
    name: str | None = None,
    activation: str = "leaky_relu",
) -> keras.Sequential:
    """Conv (stride 2) -> [BatchNorm] -> LeakyReLU(0.2): halves H and W.

    The conv has no bias when batch norm follows (BN's beta already is one). ``activation``
    is "relu" only for the U-Net bottleneck, as in the reference pix2pix code.
    """
    layers = [
        keras.layers.Conv2D(
            filters,
            size,
            strides=2,
            padding="same",
            kernel_initializer=weight_initializer(),
            use_bias=not apply_batchnorm,
        )
    ]
    if apply_batchnorm:
        layers.append(batch_norm())
    layers.append(activation_layer(activation))
    return keras.Sequential(layers, name=name)


def upsample(
    filters: int,
    size: int = 4,
    apply_dropout: bool = False,
    name: str | None = None,
    dropout_rate: float = 0.5,
) -> keras.Sequential:
    """ConvTranspose (stride 2) -> BatchNorm -> [Dropout(0.5)] -> ReLU: doubles H and W.

    pix2pix uses dropout (also at test time in the paper; here only when ``training=True``)
    as the generator's only source of noise.
    """
    layers = [
        keras.layers.Conv2DTranspose(
            filters,
            size,
            strides=2,
            padding="same",
            kernel_initializer=weight_initializer(),
            use_bias=False,  # followed by batch norm
        ),
        batch_norm(),
    ]
    if apply_dropout:
        layers.append(keras.layers.Dropout(dropout_rate))
    layers.append(activation_layer("relu"))
    return keras.Sequential(layers, name=name)


# --------------------------------------------------------------------------- sizing
#
# The encoder-decoder generators (U-Net, SGRU, reference colorizer, ConvNet) halve the image
# ``depth`` times, so they run at any H, W that are multiples of ``2**depth``; these helpers pick
# a default depth and explain a bad one.


def encoder_filters(depth: int, base_filters: int = 64) -> list[int]:
    """Filters per encoder level: base x (1, 2, 4, 8, 8, 8, ...), i.e. 64-128-256-512-512-..."""
    return [base_filters * min(2**level, 8) for level in range(depth)]


def default_depth(image_size: int, max_depth: int, bottleneck_size: int = 1) -> int:
    """The most halvings (<= ``max_depth``) that keep the bottleneck >= ``bottleneck_size`` px."""
    if image_size < 2 * bottleneck_size:
        return 0
    return min(int(math.floor(math.log2(image_size / bottleneck_size))), max_depth)


def check_depth(image_size: int, depth: int, max_depth: int, model: str) -> None:
    """Raise ValueError unless ``depth`` stride-2 halvings fit ``image_size`` exactly."""
    if not 1 <= depth <= max_depth:
        raise ValueError(
            f"{model} depth must be between 1 and {max_depth}, got {depth} "
            f"(image_size={image_size} is too small if depth was not given)"
        )
    if image_size % 2**depth:
        workable = [d for d in range(1, max_depth + 1) if image_size % 2**d == 0]
        hint = f"; depths that work for it: {workable}" if workable else ""
        raise ValueError(
            f"image_size={image_size} is not a multiple of 2**depth={2**depth} "
            f"(depth={depth}): the {model} halves the image {depth} times{hint}"
        )


@contextlib.contextmanager
def precision_policy(mixed: bool):
    """Build (and train) under ``mixed_bfloat16`` when asked, else float32; restores the global
    policy after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


# CPU features that compute bfloat16 natively (x86: AVX-512 BF16 or AMX; Arm: BF16). Without
# them TensorFlow emulates it: a plain pix2pix loop at 128 px batch 4 ran 3.8x slower in
# mixed_bfloat16 than in float32 on a 2-core AVX2 machine (87 s vs 23 s for the same steps).
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


def cpu_has_native_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool | None:
    """Whether the CPU computes bfloat16 natively; None where ``cpuinfo`` cannot be read (not Linux)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):  # x86 says flags, Arm says Features
            flags.update(value.split())
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def slow_bfloat16_warning(mixed: bool, gpus: int, native_cpu: bool | None) -> str | None:
    """The warning for ``--mixed-precision`` training on a CPU that emulates bfloat16, else None."""
    if not mixed or gpus or native_cpu is not False:
        return None
    return (
        "--mixed-precision on a CPU without native bfloat16 (no AVX-512 BF16 or AMX, no GPU): "
        "TensorFlow emulates it, about 3.8x slower than float32 on such a CPU; drop the flag here"
    )
