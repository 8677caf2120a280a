"""The two value ranges of the package and the one conversion between them.

Files, the exported model's inputs and outputs and every metric use uint8 0..255; the networks
see float32 in [-1, 1]. ``to_unit_range`` and ``to_uint8`` are the only place the mapping is
written down (``x / 127.5 - 1`` and ``round((x + 1) * 127.5)`` clipped), so a PSNR logged in
training equals the PSNR of the image the export writes. Both take numpy arrays (numpy out, for
OpenCV and Pillow code) or tensors (tensor out, in graphs and tf.data).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

HALF_RANGE = 127.5  # 255 / 2


def to_unit_range(images):
    """uint8 0..255 (or float 0..255) -> float32 in [-1, 1]."""
    if isinstance(images, np.ndarray):
        return images.astype(np.float32) / HALF_RANGE - 1.0
    return tf.cast(images, tf.float32) / HALF_RANGE - 1.0


def to_255(images):
    """float [-1, 1] -> float32 0..255, rounded to whole levels and clipped (uint8 values as floats)."""
    if isinstance(images, np.ndarray):
        return np.clip(np.rint((images.astype(np.float32) + 1.0) * HALF_RANGE), 0.0, 255.0)
    return tf.clip_by_value(tf.round((tf.cast(images, tf.float32) + 1.0) * HALF_RANGE), 0.0, 255.0)


def to_uint8(images):
    """float [-1, 1] -> uint8 0..255 (for files and display; ``x * 0.5 + 0.5`` scaled by 255)."""
    if isinstance(images, np.ndarray):
        return to_255(images).astype(np.uint8)
    return tf.cast(to_255(images), tf.uint8)


def display(images) -> np.ndarray:
    """[-1, 1] images as float [0, 1] numpy for matplotlib (``x * 0.5 + 0.5``, clipped)."""
    return np.clip(np.asarray(images, dtype=np.float32) * 0.5 + 0.5, 0.0, 1.0)
