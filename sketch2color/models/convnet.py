"""The encoder-decoder ConvNet of the "ConvNet with L2 loss" baseline (Fu, Hsu and Yang,
"Colorization Using ConvNet and GAN", Stanford CS231n 2017, section 3.1).

The paper gives: a symmetric network of 6 encoding and 6 decoding layers with increasing then
decreasing numbers of filters; an encoding layer is a strided conv2d -> batch norm -> leaky
ReLU, a decoding layer a conv2d_transpose -> batch norm -> ReLU; trained with a pixel-wise L2
loss (the loss is the trainer's business, not this module's). At 256 px (depth 6)::

    sketch                                  (B, 256, 256, 3)
    encoder_1  C64                     ->   (B, 128, 128, 64)
    encoder_2  C128                    ->   (B, 64, 64, 128)
    encoder_3  C256                    ->   (B, 32, 32, 256)
    encoder_4  C512                    ->   (B, 16, 16, 512)
    encoder_5  C512                    ->   (B, 8, 8, 512)
    encoder_6  C512                    ->   (B, 4, 4, 512)
    decoder_1  CT512                   ->   (B, 8, 8, 512)
    decoder_2  CT512                   ->   (B, 16, 16, 512)
    decoder_3  CT256                   ->   (B, 32, 32, 256)
    decoder_4  CT128                   ->   (B, 64, 64, 128)
    decoder_5  CT64                    ->   (B, 128, 128, 64)
    output     ConvT(3) + tanh         ->   (B, 256, 256, 3)     (the 6th decoding layer)

Choices we had to make (the seed's Figure 3 with the sizes is not in the text):

- widths: pix2pix's 64-128-256-512-512-512 (the seed's "increasing number of filters"; the
  paper's GAN is pix2pix-based), 4x4 kernels, stride 2, N(0, 0.02) weights, leaky slope 0.2
  and batch-norm momentum 0.9: the project's pix2pix blocks (``blocks.downsample/upsample``).
- batch norm on *every* encoding layer, including the first (the seed says each encoding
  layer has one; pix2pix skips it on the first); no dropout (the seed has none).
- the last decoding layer maps to ``output_channels`` with tanh (float32) and no batch norm,
  so the output is an image in [-1, 1] like the other generators'.
- skip connections: the paper actually concatenates each decoding layer with its mirror
  encoding layer ("This architecture is called U-Net"). The baseline here is the *plain*
  encoder-decoder (``skip_connections=False``, the default), which isolates what the skips
  and the adversarial loss add; ``skip_connections=True`` gives the seed's literal network.
- depth: 6 whenever the image is large enough to keep a >= 4x4 bottleneck (256 px), fewer
  below (64 px -> 4); H, W must be multiples of 2**depth (the seed's 180x320 frames are not
  multiples of 64: they would need padding or a resize first).
"""

from __future__ import annotations

import keras

from sketch2color.models.blocks import (
    check_depth,
    default_depth,
    downsample,
    encoder_filters,
    upsample,
    upsampling_output,
)
from sketch2color.models.hint_spread import generator_input

PAPER_DEPTH = 6
MAX_DEPTH = 8
MIN_BOTTLENECK = 4  # keeps batch norm's statistics meaningful at the innermost layer


def convnet_generator(
    image_size: int = 256,
    input_channels: int = 3,
    output_channels: int = 3,
    base_filters: int = 64,
    depth: int | None = None,
    name: str = "convnet_generator",
    skip_connections: bool = False,
    hint_spread: tuple[float, ...] = (),
) -> keras.Model:
    """Build the encoder-decoder ConvNet: sketch (B, H, W, in) -> color (B, H, W, out).

    ``depth`` encoding layers (6, or fewer for small images) and as many decoding layers,
    the last of which outputs the image. Runs at any H, W that are multiples of 2**depth.
    """
    if depth is None:
        depth = default_depth(image_size, PAPER_DEPTH, bottleneck_size=MIN_BOTTLENECK)
    check_depth(image_size, depth, MAX_DEPTH, "ConvNet")

    down_filters = encoder_filters(depth, base_filters)  # 64, 128, 256, 512, 512, 512
    up_filters = down_filters[-2::-1]  # 512, 512, 256, 128, 64: mirror without the innermost

    sketch, x = generator_input(input_channels, hint_spread)  # (B, H, W, in), + the spread hints
    features = []
    for level, filters in enumerate(down_filters, start=1):
        x = downsample(filters, name=f"encoder_{level}")(x)  # (B, H/2^l, W/2^l, filters)
        features.append(x)

    mirrors = reversed(features[:-1])  # encoder outputs at each decoder output's resolution
    for level, (filters, mirror) in enumerate(zip(up_filters, mirrors), start=1):
        x = upsample(filters, name=f"decoder_{level}")(x)  # doubles H, W
        if skip_connections:
            x = keras.layers.Concatenate(name=f"skip_{level}")([x, mirror])

    color = upsampling_output(x, output_channels)  # (B, H, W, out) in [-1, 1]
    return keras.Model(inputs=sketch, outputs=color, name=name)
