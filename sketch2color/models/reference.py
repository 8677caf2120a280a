"""The reference colorizer's generator: a residual attention U-Net with noise injection.

"Anime Sketch Colorizer: Automatic Sketch Colorization with Reference Image" (2020)
describes four blocks, all built here as Keras layers:

- :class:`ResidualBlock` (Fig. 1): two 3x3 convs, each followed by group normalization (GN),
  with a shortcut, then a sampling layer: max-pooling ("down") or up-sampling ("up"). Batch
  norm is replaced by GN + weight standardization (:class:`WSConv2D`) because the batch size
  is tiny (2), following Qiao et al., "Weight Standardization" (2019).
- :class:`AttentionGate` (Fig. 2): the additive attention gate of the Attention U-Net
  (Oktay et al., 2018) on every skip connection.
- :class:`DecodingBlock` (Fig. 3): up-sampling residual block, attention-gated skip, concat,
  residual block, then per-channel scaled noise (:class:`NoiseInjection`, StyleGAN's
  "stochastic variation", Karras et al. 2019) with a trainable scale.
- the whole generator (Fig. 4): input = sketch (3) + a 9-color K-means palette of the
  reference image broadcast to constant planes (27) = 30 channels, concatenated *before* the
  model by the conditioning code, so the model keeps a single input tensor named "sketch".

At 256 px (base_filters 64, depth 7)::

    sketch + palette                          (B, 256, 256, 30)
    encoder_1  ResidualBlock(64, down)   ->   (B, 128, 128, 64)   --------------------------+
    encoder_2  ResidualBlock(128, down)  ->   (B, 64, 64, 128)    --------------------+     |
    encoder_3  ResidualBlock(256, down)  ->   (B, 32, 32, 256)    --------------+     |     |
    encoder_4  ResidualBlock(512, down)  ->   (B, 16, 16, 512)    --------+     |     |     |
    encoder_5  ResidualBlock(512, down)  ->   (B, 8, 8, 512)      --+     |     |     |     |
    encoder_6  ResidualBlock(512, down)  ->   (B, 4, 4, 512)      + |     |     |     |     |
    encoder_7  ResidualBlock(512, down)  ->   (B, 2, 2, 512)      | |     |     |     |     |
    bottleneck_noise  NoiseInjection     ->   (B, 2, 2, 512)      | |     |     |     |     |
    decoder_6  DecodingBlock(512)        ->   (B, 4, 4, 512)   <--+ |     |     |     |     |
    decoder_5  DecodingBlock(512)        ->   (B, 8, 8, 512)   <----+     |     |     |     |
    decoder_4  DecodingBlock(512)        ->   (B, 16, 16, 512)  <---------+     |     |     |
    decoder_3  DecodingBlock(256)        ->   (B, 32, 32, 256)  <---------------+     |     |
    decoder_2  DecodingBlock(128)        ->   (B, 64, 64, 128)  <---------------------+     |
    decoder_1  DecodingBlock(64)         ->   (B, 128, 128, 64) <---------------------------+
    output_upsample  ResidualBlock(32, up) -> (B, 256, 256, 32)
    output_noise  NoiseInjection         ->   (B, 256, 256, 32)
    output_conv  Conv 3x3 -> 3, tanh     ->   (B, 256, 256, 3)

``decoder_k`` consumes ``encoder_k``'s output as its skip. The seed gives the block diagrams
but no numbers; the widths, kernel sizes and orderings follow the author's public PyTorch
implementation (github.com/delta6189/Anime-Sketch-Colorizer, ``mymodels.py``):

- encoder widths 64-128-256-512-512-512-512 (the pix2pix progression), seven levels down to a
  2x2 bottleneck at 256 px; every decoding block's width equals its skip's width; the last
  up-sampling block halves the width to 32.
- residual block: WS conv 3x3 (no bias) -> GN -> ReLU -> WS conv 3x3 -> GN, plus the input
  (or WS conv 1x1 -> GN when the width changes), -> ReLU -> sampling. The convs run *before*
  the sampling, so "up" blocks convolve at the low resolution and then up-sample.
- sampling: max-pool 3x3 stride 2 with one pixel of padding ("down"), nearest-neighbour x2
  ("up"). The padding is zeros, which is the same as max-pool's -inf padding here because
  the block's output is post-ReLU (>= 0).
- GN: 32 groups (fewer when a width is not a multiple of 32, e.g. in narrow test models),
  epsilon 1e-5 and gamma ~ N(1, 0.02) as in the PyTorch code; conv kernels ~ N(0, 0.02).
- attention gate: both inputs at the *same* resolution (the decoder up-samples first), so,
  unlike Oktay et al., there is no strided conv on the skip nor a resampling of the
  coefficients. Intermediate width = half the skip's width; W_g and W_x are WS conv 1x1 -> GN;
  psi is WS conv 1x1 -> instance norm -> sigmoid (the PyTorch code normalizes psi too).
- noise: one N(0, 1) map of shape (B, H, W, 1) per block, times a per-channel scale
  initialized to 0 (StyleGAN), on the bottleneck, after each decoding block and before the
  output conv.

Choices of ours:

- deterministic inference: NoiseInjection adds noise only when ``training=True``; with
  ``training=False`` it is the identity, so previews, evaluation and the exported model are
  deterministic. (StyleGAN and the PyTorch code also draw noise at test time.)
- the output conv is a plain Conv2D (bias, N(0, 0.02)) rather than a WS conv: WS would fix
  its kernel at unit variance per output channel, so the pre-tanh values of a fresh
  full-width model have a std of ~14 and ~85% of the outputs start in tanh's saturated
  tails (vanishing gradients). Every other conv is weight-standardized, as the seed says.
- weight standardization divides by ``std + 1e-5`` (Qiao et al.'s code) with the
  population std, computed in float32 even under mixed precision.
- no conv bias before a normalization (its beta replaces it); the PyTorch gate convs have one.
- the model is fully convolutional: it runs at any H, W that are multiples of 2**depth.
"""

from __future__ import annotations

import keras
from keras import ops

from sketch2color.models.blocks import (
    check_depth,
    default_depth,
    encoder_filters,
    serializable,
    tanh_image,
    weight_initializer,
)
from sketch2color.models.hint_spread import generator_input

MAX_DEPTH = 8
REFERENCE_DEPTH = 7  # 256 px -> 2x2 bottleneck
BOTTLENECK_SIZE = 2  # the default depth stops at a 2x2 bottleneck, as the reference does
PALETTE_COLORS = 9  # K-means clusters of the reference image
REFERENCE_INPUT_CHANNELS = 3 + 3 * PALETTE_COLORS  # sketch RGB + 9 RGB palette planes = 30
MAX_GROUPS = 32  # GroupNorm(32, C) in the reference
NORM_EPSILON = 1e-5  # PyTorch's GroupNorm/InstanceNorm default (Keras' GN default is 1e-3)
WS_EPSILON = 1e-5  # added to the kernel std (Qiao et al.)


def group_count(channels: int, max_groups: int = MAX_GROUPS) -> int:
    """The most groups (<= 32) that divide ``channels``: 32 for the reference widths."""
    return max(g for g in range(1, min(max_groups, channels) + 1) if channels % g == 0)


def group_norm(channels: int, name: str | None = None) -> keras.layers.GroupNormalization:
    """GroupNorm as in the reference: 32 groups, eps 1e-5, gamma ~ N(1, 0.02)."""
    return keras.layers.GroupNormalization(
        groups=group_count(channels),
        epsilon=NORM_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02),
        name=name,
    )


def with_channels(shape, channels: int, scale: float = 1) -> tuple:
    """``shape`` (B, H, W, C) with C replaced and H, W multiplied by ``scale`` (None stays None)."""
    batch, height, width, _ = shape
    resize = lambda size: None if size is None else int(size * scale)  # noqa: E731
    return (batch, resize(height), resize(width), channels)


@serializable
class WSConv2D(keras.layers.Conv2D):
    """Conv2D with weight standardization: each output channel's kernel is re-centred and
    scaled to unit std over (h, w, in) before every convolution (Qiao et al., 2019)."""

    def __init__(self, *args, standardization_epsilon: float = WS_EPSILON, **kwargs):
        kwargs.setdefault("kernel_initializer", weight_initializer())
        kwargs.setdefault("padding", "same")
        super().__init__(*args, **kwargs)
        self.standardization_epsilon = standardization_epsilon

    def standardize(self, kernel):
        """(h, w, in, out) kernel -> zero mean, unit std per output channel, in float32."""
        kernel = ops.cast(kernel, "float32")  # bf16/fp16 statistics would be too coarse
        centred = kernel - ops.mean(kernel, axis=(0, 1, 2), keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(centred), axis=(0, 1, 2), keepdims=True))
        return centred / (std + self.standardization_epsilon)

    def standardized_kernel(self):
        """The effective kernel the convolution uses (for inspection and tests)."""
        return self.standardize(self.kernel)

    def convolution_op(self, inputs, kernel):
        """Convolve with the standardized kernel, cast back to the compute dtype."""
        return super().convolution_op(inputs, ops.cast(self.standardize(kernel), inputs.dtype))

    def get_config(self):
        """Conv2D's config plus the standardization epsilon."""
        return {**super().get_config(), "standardization_epsilon": self.standardization_epsilon}


@serializable
class ResidualBlock(keras.layers.Layer):
    """The reference colorizer's Fig. 1: [WS conv 3x3 -> GN -> ReLU -> WS conv 3x3 -> GN] + shortcut -> ReLU,
    then max-pool ("down", halves H, W), up-sample ("up", doubles them) or nothing (None)."""

    SAMPLINGS = ("down", "up", None)

    def __init__(self, filters: int, sampling: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if sampling not in self.SAMPLINGS:
            raise ValueError(f"sampling must be one of {self.SAMPLINGS}, got {sampling!r}")
        self.filters = filters
        self.sampling = sampling
        self.conv_1 = WSConv2D(filters, 3, use_bias=False, name="conv_1")
        self.norm_1 = group_norm(filters, name="norm_1")
        self.relu_1 = keras.layers.ReLU(name="relu_1")
        self.conv_2 = WSConv2D(filters, 3, use_bias=False, name="conv_2")
        self.norm_2 = group_norm(filters, name="norm_2")
        self.add = keras.layers.Add(name="add_shortcut")
        self.relu_2 = keras.layers.ReLU(name="relu_2")
        if sampling == "down":
            # PyTorch's MaxPool2d(3, stride=2, padding=1); zero padding is safe after a ReLU.
            self.pad = keras.layers.ZeroPadding2D(1, name="pool_padding")
            self.resample = keras.layers.MaxPooling2D(3, strides=2, name="max_pool")
        elif sampling == "up":
            self.resample = keras.layers.UpSampling2D(2, interpolation="nearest", name="up_sample")

    def build(self, input_shape):
        """Build the convs; add a 1x1 projection shortcut when the width changes."""
        output_shape = with_channels(input_shape, self.filters)
        self.conv_1.build(input_shape)
        for layer in (self.norm_1, self.norm_2):
            layer.build(output_shape)
        self.conv_2.build(output_shape)
        self.has_projection = input_shape[-1] != self.filters
        if self.has_projection:
            self.projection = WSConv2D(self.filters, 1, use_bias=False, name="projection")
            self.projection.build(input_shape)
            self.projection_norm = group_norm(self.filters, name="projection_norm")
            self.projection_norm.build(output_shape)

    def call(self, inputs):
        """(B, H, W, C_in) -> (B, H', W', filters), H' = H/2, 2H or H by ``sampling``."""
        x = self.relu_1(self.norm_1(self.conv_1(inputs)))  # (B, H, W, filters)
        x = self.norm_2(self.conv_2(x))  # (B, H, W, filters)
        shortcut = self.projection_norm(self.projection(inputs)) if self.has_projection else inputs
        x = self.relu_2(self.add([x, shortcut]))  # (B, H, W, filters)
        if self.sampling == "down":
            x = self.resample(self.pad(x))  # (B, H/2, W/2, filters)
        elif self.sampling == "up":
            x = self.resample(x)  # (B, 2H, 2W, filters)
        return x

    def compute_output_shape(self, input_shape):
        """Shapes without tracing ``call`` (keeps building a functional model fast)."""
        if self.sampling == "down":  # padded 3x3 stride-2 pool: ceil(H / 2)
            batch, height, width, _ = input_shape
            halve = lambda size: None if size is None else (size + 1) // 2  # noqa: E731
            return (batch, halve(height), halve(width), self.filters)
        return with_channels(input_shape, self.filters, scale=2 if self.sampling == "up" else 1)

    def get_config(self):
        """Width and sampling mode."""
        return {**super().get_config(), "filters": self.filters, "sampling": self.sampling}


@serializable
class AttentionGate(keras.layers.Layer):
    """Additive attention gate (Oktay et al., 2018): inputs [gating, skip] at the same H, W;
    returns skip * sigmoid(psi(ReLU(W_g gating + W_x skip))), coefficients in [0, 1]."""

    def __init__(self, inter_filters: int, **kwargs):
        super().__init__(**kwargs)
        self.inter_filters = inter_filters
        self.gating_projection = WSConv2D(inter_filters, 1, use_bias=False, name="gating_projection")
        self.gating_norm = group_norm(inter_filters, name="gating_norm")
        self.skip_projection = WSConv2D(inter_filters, 1, use_bias=False, name="skip_projection")
        self.skip_norm = group_norm(inter_filters, name="skip_norm")
        self.relu = keras.layers.ReLU(name="relu")
        self.psi_conv = WSConv2D(1, 1, use_bias=False, name="psi_conv")
        # Instance norm of the one-channel map (no affine), as in the reference's psi branch.
        self.psi_norm = keras.layers.GroupNormalization(
            groups=1, center=False, scale=False, epsilon=NORM_EPSILON, name="psi_norm"
        )
        self.sigmoid = keras.layers.Activation("sigmoid", name="sigmoid")

    def build(self, input_shape):
        """input_shape = [gating (B, H, W, C_g), skip (B, H, W, C_x)]."""
        gating_shape, skip_shape = input_shape
        inter_shape = with_channels(skip_shape, self.inter_filters)
        self.gating_projection.build(gating_shape)
        self.skip_projection.build(skip_shape)
        self.gating_norm.build(inter_shape)
        self.skip_norm.build(inter_shape)
        self.psi_conv.build(inter_shape)
        self.psi_norm.build(with_channels(skip_shape, 1))

    def coefficients(self, inputs):
        """The attention map alpha (B, H, W, 1), in [0, 1]."""
        gating, skip = inputs
        g = self.gating_norm(self.gating_projection(gating))  # (B, H, W, inter)
        x = self.skip_norm(self.skip_projection(skip))  # (B, H, W, inter)
        psi = self.psi_norm(self.psi_conv(self.relu(g + x)))  # (B, H, W, 1)
        return self.sigmoid(psi)

    def call(self, inputs):
        """[gating, skip] -> skip weighted by its attention coefficients, (B, H, W, C_x)."""
        return inputs[1] * self.coefficients(inputs)

    def compute_output_shape(self, input_shape):
        """The skip's shape."""
        return tuple(input_shape[1])

    def get_config(self):
        """Intermediate width."""
        return {**super().get_config(), "inter_filters": self.inter_filters}


@serializable
class NoiseInjection(keras.layers.Layer):
    """StyleGAN noise: x + scale[c] * N(0, 1) with one (B, H, W, 1) noise map per call and a
    trainable per-channel scale starting at 0. Identity when ``training`` is false."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        """One scale per channel, initialized to 0 so the block starts noise-free."""
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="scale")

    def call(self, inputs, training=False):
        """(B, H, W, C) -> same shape; noise only in training, so inference is deterministic."""
        if not training:
            return inputs
        batch, height, width = ops.shape(inputs)[:3]
        noise = keras.random.normal(
            (batch, height, width, 1), dtype=self.compute_dtype, seed=self.seed_generator
        )  # (B, H, W, 1), shared by all channels
        return inputs + self.scale * noise

    def compute_output_shape(self, input_shape):
        """Unchanged."""
        return tuple(input_shape)

    def get_config(self):
        """The RNG seed (None: a random one)."""
        return {**super().get_config(), "seed": self.seed}


@serializable
class DecodingBlock(keras.layers.Layer):
    """The reference colorizer's Fig. 3: inputs [x (B, h, w, C), skip (B, 2h, 2w, C_s)] ->
    up-sampling residual block -> attention-gated skip -> concat -> residual block -> noise:
    (B, 2h, 2w, filters)."""

    def __init__(self, filters: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.seed = seed
        self.upsample = ResidualBlock(filters, sampling="up", name="upsample")
        self.attention = AttentionGate(max(filters // 2, 1), name="attention")
        self.concat = keras.layers.Concatenate(name="concat")
        self.merge = ResidualBlock(filters, name="merge")
        self.noise = NoiseInjection(seed=seed, name="noise")

    def build(self, input_shape):
        """input_shape = [x (B, h, w, C), skip (B, 2h, 2w, C_s)]."""
        x_shape, skip_shape = input_shape
        upsampled_shape = with_channels(x_shape, self.filters, scale=2)
        self.upsample.build(x_shape)
        self.attention.build([upsampled_shape, skip_shape])
        self.merge.build(with_channels(upsampled_shape, self.filters + skip_shape[-1]))
        self.noise.build(upsampled_shape)

    def call(self, inputs, training=False):
        """[x, skip] -> (B, 2h, 2w, filters)."""
        x, skip = inputs
        x = self.upsample(x)  # (B, 2h, 2w, filters)
        gated_skip = self.attention([x, skip])  # (B, 2h, 2w, C_s), the decoder gates the skip
        x = self.concat([x, gated_skip])  # (B, 2h, 2w, filters + C_s)
        x = self.merge(x)  # (B, 2h, 2w, filters)
        return self.noise(x, training=training)

    def compute_output_shape(self, input_shape):
        """(B, 2h, 2w, filters) from x's (B, h, w, C)."""
        return with_channels(input_shape[0], self.filters, scale=2)

    def get_config(self):
        """Width and noise seed."""
        return {**super().get_config(), "filters": self.filters, "seed": self.seed}


def reference_generator(
    image_size: int = 256,
    input_channels: int = REFERENCE_INPUT_CHANNELS,
    output_channels: int = 3,
    base_filters: int = 64,
    depth: int | None = None,
    name: str = "reference_generator",
    seed: int | None = None,
    hint_spread: tuple[float, ...] = (),
) -> keras.Model:
    """Build the reference colorizer: sketch + palette (B, H, W, 30) -> color (B, H, W, 3).

    ``image_size`` picks the depth (7 at 256 px: a 2x2 bottleneck) and checks it; the model
    runs at any H, W that are multiples of 2**depth. ``base_filters`` scales every width
    (64 -> 64-128-256-512-512-...; smaller for tests). ``seed`` seeds the noise layers.
    """
    if depth is None:
        depth = default_depth(image_size, min(REFERENCE_DEPTH, MAX_DEPTH), BOTTLENECK_SIZE)
    check_depth(image_size, depth, MAX_DEPTH, "reference colorizer")

    widths = encoder_filters(depth, base_filters)  # 64, 128, 256, 512, 512, 512, 512
    layer_seed = (lambda offset: None) if seed is None else (lambda offset: seed + offset)

    sketch, x = generator_input(input_channels, hint_spread)  # (B, H, W, 30), + the spread hints
    skips = []
    for level, filters in enumerate(widths, start=1):
        x = ResidualBlock(filters, sampling="down", name=f"encoder_{level}")(x)  # (B, H/2^l, W/2^l, f)
        skips.append(x)

    x = NoiseInjection(seed=layer_seed(0), name="bottleneck_noise")(x)  # (B, H/2^d, W/2^d, 512)
    # decoder_k up-samples to encoder_k's resolution and width and gates its output as the skip.
    for level in range(depth - 1, 0, -1):
        block = DecodingBlock(widths[level - 1], seed=layer_seed(level), name=f"decoder_{level}")
        x = block([x, skips[level - 1]])  # (B, H/2^k, W/2^k, widths[k-1])

    x = ResidualBlock(max(base_filters // 2, 1), sampling="up", name="output_upsample")(x)  # (B, H, W, 32)
    x = NoiseInjection(seed=layer_seed(depth), name="output_noise")(x)  # (B, H, W, 32)
    x = keras.layers.Conv2D(
        output_channels, 3, padding="same", kernel_initializer=weight_initializer(), name="output_conv"
    )(x)  # (B, H, W, 3)
    color = tanh_image(x)  # (B, H, W, 3) in [-1, 1]
    return keras.Model(inputs=sketch, outputs=color, name=name)
