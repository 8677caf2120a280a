"""Color hints spread over the image before the generator sees them (normalized convolution).

A user's hint is a few pixels; the region it colors (a character's hair, the background) is
thousands. A generator given the sparse hint map must learn to carry each hint across its
region, which a short training run does not manage: at 10 ground-truth hints the models here
gained about 1 dB over no hints. :class:`HintSpread` hands the generator the carried colors from
its first layer on: for each scale ``sigma`` (in hint cells), the Gaussian-weighted mean color
of the hints around every pixel and how much hint weight is near it. That is normalized
convolution (Knutsson & Westin 1993) of the hint colors with the hint mask as the certainty,
the dense form of the scribble propagation of Levin, Lischinski & Weiss 2004; the network then
learns where a spread color stops (at the sketch's lines).

The layer takes the generator input as :mod:`sketch2color.data.conditioning` lays it out (the
hints are the last 4 channels: RGB x mask in [-1, 1], then the 0/1 mask) and appends 4 channels
per scale; the input of the model, its exports and the app stay the same.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from sketch2color.models.blocks import serializable

HINT_CHANNELS = 4  # RGB x mask, mask: the layout of sketch2color.data.conditioning
HINT_CELL = 4  # pixels per hint cell (conditioning.DEFAULT_HINT_DOWNSAMPLE)
DEFAULT_SIGMAS = (2.0, 8.0)  # in hint cells: 8 and 32 px, a stroke's surroundings and a region
MIN_WEIGHT = 1e-2  # below this much hint weight the spread color fades to 0 instead of dividing by ~0


def gaussian_taps(sigma: float) -> np.ndarray:
    """1-D Gaussian with peak 1 (not sum 1): one hint cell gives weight 1 at its own centre."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    return np.exp(-0.5 * (offsets / sigma) ** 2).astype(np.float32)


@serializable
class HintSpread(keras.layers.Layer):
    """(B, H, W, C) with hints in the last 4 channels -> (B, H, W, C + 4 * len(sigmas)).

    Per scale: the spread color (3, in [-1, 1]; 0 far from every hint) and the hint weight
    nearby, clipped to 1 (1). Computed on the hint grid (H / 4, W / 4), so it costs next to
    nothing, then resized back bilinearly. H and W must be multiples of ``cell``.
    """

    def __init__(self, sigmas=DEFAULT_SIGMAS, cell: int = HINT_CELL, **kwargs):
        super().__init__(**kwargs)
        sigmas = tuple(float(sigma) for sigma in sigmas)
        if not sigmas or min(sigmas) <= 0:
            raise ValueError(f"hint_spread: give one or more scales > 0 (in hint cells), got {sigmas}")
        self.sigmas = sigmas
        self.cell = int(cell)

    def call(self, inputs):
        ops = keras.ops
        size = tf.shape(inputs)[1:3]  # a tensor: exports take any size
        hints = ops.cast(inputs[..., -HINT_CHANNELS:], "float32")
        cells = ops.average_pool(hints, self.cell, self.cell, padding="valid")  # (B, H/4, W/4, 4)
        spread = []
        for sigma in self.sigmas:
            taps = gaussian_taps(sigma)
            rows = np.tile(taps[:, None, None, None], (1, 1, HINT_CHANNELS, 1))  # (k, 1, 4, 1)
            blurred = ops.depthwise_conv(cells, rows, padding="same")
            blurred = ops.depthwise_conv(blurred, np.transpose(rows, (1, 0, 2, 3)), padding="same")
            weight = blurred[..., 3:]
            color = blurred[..., :3] / ops.maximum(weight, MIN_WEIGHT)
            spread += [color, ops.minimum(weight, 1.0)]
        planes = tf.image.resize(ops.concatenate(spread, axis=-1), size, method="bilinear")
        return ops.concatenate([inputs, ops.cast(planes, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + HINT_CHANNELS * len(self.sigmas))

    def get_config(self):
        return {**super().get_config(), "sigmas": list(self.sigmas), "cell": self.cell}


def generator_input(input_channels: int, hint_spread=()) -> tuple:
    """Every generator's input (B, H, W, in) and what its first layer sees: with ``hint_spread``
    scales, the input and the spread hints (B, H, W, in + 4 * len(scales)); else the input itself."""
    sketch = keras.Input(shape=(None, None, input_channels), name="sketch")  # (B, H, W, in)
    if not hint_spread:
        return sketch, sketch
    if input_channels < 3 + HINT_CHANNELS:
        raise ValueError(
            f"hint_spread needs an input with color hints (its last {HINT_CHANNELS} channels), "
            f"got {input_channels} channels: train with --hints"
        )
    return sketch, HintSpread(hint_spread, name="hint_spread")(sketch)
