"""The Swish-Gated Residual U-Net (SGRU) of Liu, Chen and Hu, "Anime Sketch Coloring with
Swish-Gated Residual U-Net" (ISICA 2018, CCIS 986), as proposed for anime colorization with GANs
and hint maps.

That proposal only names the ingredients: swish-gated residual blocks (SGBs) instead of plain U-Net
levels, and swish-gated skip connections (plus the perceptual/per-pixel loss, which lives in
the losses, not here). The architecture below is reconstructed from the paper's description
as transcribed by the open reimplementation of Koumis, Lam, Pizzorni and Sivanantham
(github.com/pradeeplam/Anime-Sketch-Coloring-with-Swish-Gated-Residual-UNet; they
corresponded with Xin Chen about the details the paper leaves out). Its parts:

- swish layer (gate): S(x) = x * sigmoid(H(x)), H a 3x3 conv keeping the width: a learned,
  per-pixel, per-channel soft switch on the features it passes.
- SGB, encoder side (``down``): [1x1 conv to ``filters``] -> residual branch R = two 3x3
  conv-LReLU -> max-pool 2x2; in parallel the (1x1-projected) input is max-pooled and
  swish-gated; the two are concatenated: out = concat(M(R(x)), S(M(x))), 2 x ``filters``
  channels at half the size. The gated input path plays the role of the residual shortcut
  (concatenated rather than added, so the two paths keep separate channels).
- SGB, decoder side (``up``): the same with a stride-2 2x2 transposed conv (conv-LReLU) in
  place of max-pooling on both paths, then the swish-gated skip is concatenated too.
- swish-gated skip connection: the encoder's residual branch R(x) at its own resolution,
  passed through a swish layer before the decoder concatenates it.
- head: 1x1, 3x3, 3x3 conv-LReLU (96) then a 1x1 conv to the output channels.

At 256 px (base_filters 96, depth 5, 3-channel sketch)::

    sketch                                        (B, 256, 256, 3)
    sgb_down_1   R: 96 (no 1x1) + S(pool(x)): 3 -> (B, 128, 128, 99)   skip_1 S(R) (B, 256, 256, 96)
    sgb_down_2   1x1 192, R 192, S 192        -> (B, 64, 64, 384)      skip_2 (B, 128, 128, 192)
    sgb_down_3   288                          -> (B, 32, 32, 576)      skip_3 (B, 64, 64, 288)
    sgb_down_4   384                          -> (B, 16, 16, 768)      skip_4 (B, 32, 32, 384)
    sgb_down_5   480                          -> (B, 8, 8, 960)        skip_5 (B, 16, 16, 480)
    sgb_up_5     1x1 512, R 512 at 8x8, up + S(up) + skip_5 -> (B, 16, 16, 1504)
    sgb_up_4     480 + 480 + skip_4 384                     -> (B, 32, 32, 1344)
    sgb_up_3     384 + 384 + skip_3 288                     -> (B, 64, 64, 1056)
    sgb_up_2     288 + 288 + skip_2 192                     -> (B, 128, 128, 768)
    sgb_up_1     192 + 192 + skip_1 96                      -> (B, 256, 256, 480)
    head         1x1 96, 3x3 96, 3x3 96                     -> (B, 256, 256, 96)
    output_conv  1x1 3, tanh (float32)                      -> (B, 256, 256, 3)

Choices we had to make (the seed gives no numbers; the paper's are as transcribed above):

- widths: encoder level k has ``base_filters * k`` filters (96-192-288-384-480); decoder
  level k uses encoder level k+1's width, the deepest one ``bottleneck_filters`` (512 at the
  paper's 96, by default ``round(base_filters * 16 / 3)`` so narrow test models scale).
- the first SGB has no 1x1 projection, so its gated shortcut carries the raw sketch channels
  (as in the reimplementation); depth 5 is the paper's (bottleneck at H/32).
- LeakyReLU slope 0.2 (the project-wide value; also that of CRN, Chen and Koltun 2017, whose
  loss the SGRU authors say they adapted); He-normal kernels (the reimplementation's first
  version), since nothing here is batch-normalized.
- normalization: none is described for SGRU; the reimplementation's final version adds layer
  normalization after every conv (as CRN's code does; both train with batch size 1).
  ``norm="layer"`` (default) does the same after every conv but the output one, as
  GroupNormalization(groups=1): normalizes over (H, W, C) with a per-channel scale and offset,
  so it works at any image size. ``norm="none"`` drops it (convs then get biases).
- the swish gate's conv H is followed by the same normalization, then the sigmoid.
- output: the paper outputs 9 RGB images (27 channels) trained with a min-over-collection
  loss; here ``output_channels`` (3) channels through tanh in float32, like the other
  generators (``output_channels=27`` gives the collection, the loss is not part of this).
- the model is fully convolutional: any H, W that are multiples of 2**depth.
"""

from __future__ import annotations

import keras

from sketch2color.models.blocks import LEAKY_RELU_SLOPE, check_depth, default_depth, tanh_image
from sketch2color.models.hint_spread import generator_input

PAPER_DEPTH = 5
PAPER_BASE_FILTERS = 96
PAPER_HEAD_FILTERS = 96
MAX_DEPTH = 7
NORMS = ("layer", "none")


def level_filters(depth: int, base_filters: int = PAPER_BASE_FILTERS) -> list[int]:
    """Encoder widths: base x (1, 2, ..., depth), i.e. 96-192-288-384-480 in the paper."""
    return [base_filters * level for level in range(1, depth + 1)]


def default_bottleneck_filters(base_filters: int) -> int:
    """Width of the deepest decoder SGB: 512 at the paper's base of 96."""
    return max(round(base_filters * 16 / 3), 1)


class _SGRUBuilder:
    """Creates the uniquely named layers of one SGRU graph (shared norm/activation settings)."""

    def __init__(self, norm: str):
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.norm = norm

    def _normalize(self, x, name: str):
        """Layer norm over (H, W, C) with per-channel affine, or nothing for norm='none'."""
        if self.norm == "none":
            return x
        return keras.layers.GroupNormalization(groups=1, epsilon=1e-5, name=name)(x)

    def conv(self, x, filters: int, size: int, name: str, transpose: bool = False):
        """Conv (or 2x2 stride-2 transposed conv) -> [layer norm] -> LeakyReLU(0.2)."""
        conv_layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        x = conv_layer(
            filters,
            size,
            strides=2 if transpose else 1,
            padding="same",
            kernel_initializer="he_normal",
            use_bias=self.norm == "none",  # the norm's offset replaces the bias
            name=f"{name}_conv",
        )(x)
        x = self._normalize(x, f"{name}_norm")
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=f"{name}_lrelu")(x)

    def swish_gate(self, x, name: str):
        """S(x) = x * sigmoid(H(x)), H a width-preserving 3x3 conv: same shape as x."""
        gate = keras.layers.Conv2D(
            x.shape[-1],
            3,
            padding="same",
            kernel_initializer="he_normal",
            use_bias=self.norm == "none",
            name=f"{name}_gate_conv",
        )(x)
        gate = self._normalize(gate, f"{name}_gate_norm")
        gate = keras.layers.Activation("sigmoid", name=f"{name}_gate_sigmoid")(gate)
        return keras.layers.Multiply(name=f"{name}_gated")([x, gate])

    def residual_branch(self, x, filters: int, name: str):
        """R(x): two 3x3 conv-LReLU at the input's resolution."""
        x = self.conv(x, filters, 3, f"{name}_residual_1")
        return self.conv(x, filters, 3, f"{name}_residual_2")

    def sgb_down(self, x, filters: int, name: str, project: bool = True):
        """Encoder SGB: (B, H, W, C) -> (B, H/2, W/2, 2 filters) and the skip (B, H, W, filters)."""
        if project:
            x = self.conv(x, filters, 1, f"{name}_project")  # (B, H, W, filters)
        residual = self.residual_branch(x, filters, name)  # (B, H, W, filters)
        pooled = keras.layers.MaxPooling2D(2, name=f"{name}_residual_pool")(residual)  # (B, H/2, W/2, f)
        shortcut = keras.layers.MaxPooling2D(2, name=f"{name}_shortcut_pool")(x)  # (B, H/2, W/2, f)
        shortcut = self.swish_gate(shortcut, f"{name}_shortcut")
        out = keras.layers.Concatenate(name=f"{name}_concat")([pooled, shortcut])  # (B, H/2, W/2, 2f)
        skip = self.swish_gate(residual, name.replace("sgb_down", "skip"))  # swish-gated skip
        return out, skip

    def sgb_up(self, x, skip, filters: int, name: str):
        """Decoder SGB: (B, h, w, C) + skip (B, 2h, 2w, C_s) -> (B, 2h, 2w, 2 filters + C_s)."""
        x = self.conv(x, filters, 1, f"{name}_project")  # (B, h, w, filters)
        residual = self.residual_branch(x, filters, name)  # (B, h, w, filters)
        upsampled = self.conv(residual, filters, 2, f"{name}_residual_up", transpose=True)  # (B, 2h, 2w, f)
        shortcut = self.conv(x, filters, 2, f"{name}_shortcut_up", transpose=True)  # (B, 2h, 2w, f)
        shortcut = self.swish_gate(shortcut, f"{name}_shortcut")
        return keras.layers.Concatenate(name=f"{name}_concat")([upsampled, shortcut, skip])


def sgru_generator(
    image_size: int = 256,
    input_channels: int = 3,
    output_channels: int = 3,
    base_filters: int = PAPER_BASE_FILTERS,
    depth: int | None = None,
    name: str = "sgru_generator",
    bottleneck_filters: int | None = None,
    head_filters: int | None = None,
    norm: str = "layer",
    hint_spread: tuple[float, ...] = (),
) -> keras.Model:
    """Build the SGRU: sketch (B, H, W, in) -> color (B, H, W, out) in [-1, 1].

    ``depth`` defaults to the paper's 5 (fewer when the image is too small for a >= 2 px
    bottleneck); H, W must be multiples of 2**depth. ``base_filters`` (96) scales the level
    widths; ``bottleneck_filters`` (512 at 96) and ``head_filters`` (96 at 96) default to
    the paper's values scaled with it. ``norm`` is "layer" or "none" (see the module notes).
    """
    if depth is None:
        depth = default_depth(image_size, PAPER_DEPTH, bottleneck_size=2)
    check_depth(image_size, depth, MAX_DEPTH, "SGRU")
    if bottleneck_filters is None:
        bottleneck_filters = default_bottleneck_filters(base_filters)
    if head_filters is None:
        head_filters = max(round(base_filters * PAPER_HEAD_FILTERS / PAPER_BASE_FILTERS), 1)
    build = _SGRUBuilder(norm)

    down_filters = level_filters(depth, base_filters)  # 96, 192, 288, 384, 480
    up_filters = down_filters[1:] + [bottleneck_filters]  # decoder level k: 192, ..., 480, 512

    sketch, x = generator_input(input_channels, hint_spread)  # (B, H, W, in), + the spread hints
    skips = []
    for level, filters in enumerate(down_filters, start=1):
        # The first SGB works on the sketch directly (no 1x1 projection), as in the paper.
        x, skip = build.sgb_down(x, filters, f"sgb_down_{level}", project=level > 1)
        skips.append(skip)  # (B, H/2^(level-1), W/2^(level-1), filters)
        # x: (B, H/2^level, W/2^level, 2 filters), or filters + in at level 1

    for level in range(depth, 0, -1):
        x = build.sgb_up(x, skips[level - 1], up_filters[level - 1], f"sgb_up_{level}")
        # x: (B, H/2^(level-1), W/2^(level-1), 2 up_filters + skip width)

    x = build.conv(x, head_filters, 1, "head_1")  # (B, H, W, 96)
    x = build.conv(x, head_filters, 3, "head_2")  # (B, H, W, 96)
    x = build.conv(x, head_filters, 3, "head_3")  # (B, H, W, 96)
    x = keras.layers.Conv2D(output_channels, 1, kernel_initializer="he_normal", name="output_conv")(x)
    color = tanh_image(x)  # (B, H, W, out) in [-1, 1]
    return keras.Model(inputs=sketch, outputs=color, name=name)
