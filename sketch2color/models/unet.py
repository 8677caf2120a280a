"""The pix2pix U-Net generator: an encoder-decoder with skip connections between mirror levels.

At 256 px (depth 8)::

    sketch (B, 256, 256, 3)
    encoder_1  C64  (no BN)      -> (B, 128, 128, 64)  --------------------------------+
    encoder_2  C128              -> (B, 64, 64, 128)   --------------------------+     |
    encoder_3  C256              -> (B, 32, 32, 256)   --------------------+     |     |
    encoder_4  C512              -> (B, 16, 16, 512)   --------------+     |     |     |
    encoder_5  C512              -> (B, 8, 8, 512)     --------+     |     |     |     |
    encoder_6  C512              -> (B, 4, 4, 512)     --+     |     |     |     |     |
    encoder_7  C512              -> (B, 2, 2, 512)     + |     |     |     |     |     |
    encoder_8  C512 (no BN, ReLU)-> (B, 1, 1, 512)     | |     |     |     |     |     |
    decoder_1  CD512 + concat    -> (B, 2, 2, 1024)  <-+ |     |     |     |     |     |
    decoder_2  CD512 + concat    -> (B, 4, 4, 1024)  <---+     |     |     |     |     |
    decoder_3  CD512 + concat    -> (B, 8, 8, 1024)  <---------+     |     |     |     |
    decoder_4  C512 + concat     -> (B, 16, 16, 1024) <--------------+     |     |     |
    decoder_5  C256 + concat     -> (B, 32, 32, 512)  <--------------------+     |     |
    decoder_6  C128 + concat     -> (B, 64, 64, 256)  <--------------------------+     |
    decoder_7  C64 + concat      -> (B, 128, 128, 128) <-------------------------------+
    output     ConvT(3) + tanh   -> (B, 256, 256, 3)

(CD = conv + batch norm + dropout 0.5 + ReLU.) The innermost block has no batch norm and a
plain ReLU, as in the reference pix2pix code: batch norm over a 1x1 map with batch size 1
would zero it in training.

Smaller depths (fewer levels) keep the *first* ``depth`` encoder filters of the list above
(64, 128, 256, 512, 512, ...: the encoder still ends with 512s once depth >= 4), the decoder
mirrors the encoder without its innermost level, and dropout stays in the first
``dropout_blocks`` (3) decoder blocks, i.e. the innermost ones.
"""

from __future__ import annotations

import keras

from sketch2color.models import blocks
from sketch2color.models.blocks import downsample, encoder_filters, upsample, upsampling_output
from sketch2color.models.hint_spread import generator_input

MAX_DEPTH = 8  # pix2pix: 8 levels take 256 px down to a 1x1 bottleneck
PIX2PIX_DROPOUT_BLOCKS = 3


def default_depth(image_size: int) -> int:
    """floor(log2(image_size)) capped at 8: 256 px -> 8, 128 -> 7, 64 -> 6 (1x1 bottleneck)."""
    return blocks.default_depth(image_size, MAX_DEPTH)


def check_depth(image_size: int, depth: int) -> None:
    """Raise ValueError unless ``depth`` levels of stride-2 halving fit ``image_size`` exactly."""
    blocks.check_depth(image_size, depth, MAX_DEPTH, "U-Net")


def unet_generator(
    image_size: int = 256,
    input_channels: int = 3,
    output_channels: int = 3,
    depth: int | None = None,
    base_filters: int = 64,
    name: str = "unet_generator",
    dropout_blocks: int = PIX2PIX_DROPOUT_BLOCKS,
    hint_spread: tuple[float, ...] = (),
) -> keras.Model:
    """Build the pix2pix U-Net: sketch (B, H, W, in) -> color (B, H, W, out) in [-1, 1].

    ``image_size`` only picks and checks the depth: the model is fully convolutional and runs
    at any H, W that are multiples of 2**depth. ``dropout_blocks=0`` gives a deterministic
    generator (used by the distribution test); pix2pix uses 3. ``hint_spread`` (scales in hint
    cells, for an input whose last 4 channels are color hints) adds the hints spread over the
    image to the input (:class:`~sketch2color.models.hint_spread.HintSpread`).
    """
    if depth is None:
        depth = default_depth(image_size)
    check_depth(image_size, depth)

    down_filters = encoder_filters(depth, base_filters)
    up_filters = down_filters[-2::-1]  # mirror, without the bottleneck level

    encoder = [
        downsample(
            filters,
            apply_batchnorm=0 < level < depth - 1,  # not on the first nor the bottleneck
            activation="relu" if level == depth - 1 else "leaky_relu",
            name=f"encoder_{level + 1}",
        )
        for level, filters in enumerate(down_filters)
    ]
    decoder = [
        upsample(filters, apply_dropout=level < dropout_blocks, name=f"decoder_{level + 1}")
        for level, filters in enumerate(up_filters)
    ]

    sketch, x = generator_input(input_channels, hint_spread)  # (B, H, W, in), + the spread hints

    skips = []
    for block in encoder:
        x = block(x)  # halves H, W: (B, H / 2**k, W / 2**k, filters) after k blocks
        skips.append(x)

    # The bottleneck is not concatenated with itself; the rest pair up deepest-first.
    for level, (block, skip) in enumerate(zip(decoder, reversed(skips[:-1]))):
        x = block(x)  # doubles H, W
        x = keras.layers.Concatenate(name=f"skip_{level + 1}")([x, skip])

    color = upsampling_output(x, output_channels)  # (B, H, W, out) in [-1, 1]
    return keras.Model(inputs=sketch, outputs=color, name=name)
