"""Colorizing with an exported model from Python: files in, uint8 arrays out.

    colorizer = load_colorizer("runs/pix2pix-embedded")
    color = colorize_array(colorizer, sketch_from_file(Path("sketch.png")))

``python -m sketch2color.colorize`` is these functions over a list of files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from sketch2color.data.conditioning import extract_palette, hints_from_image, parse_palette
from sketch2color.data.files import DatasetError, read_image_rgb
from sketch2color.data.pixels import to_uint8


def sketch_from_file(path: Path, input_kind: str = "auto", sketch_side: str = "right") -> np.ndarray:
    """The uint8 RGB sketch to colorize from a file (the sketch half of a pair file)."""
    image = read_image_rgb(path)
    height, width = image.shape[:2]
    is_pair = input_kind == "pair" or (input_kind == "auto" and width == 2 * height)
    if not is_pair:
        return image
    if width != 2 * height:
        raise DatasetError(f"{path}: --input-kind pair needs width = 2 x height, got {width}x{height}")
    half = width // 2
    return image[:, half:] if sketch_side == "right" else image[:, :half]


def model_hints(colorizer, sketch_shape: tuple[int, int], hint_image: np.ndarray | None) -> np.ndarray:
    """A user's hint image as the hints input of ``colorizer`` for a sketch of ``sketch_shape``.

    Hint cells must have the size they had in training, so they are built at the scale the model
    runs at (longer side = training size); the model resizes them with the sketch.
    """
    height, width = sketch_shape
    scale = int(colorizer.image_size.numpy()) / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return np.zeros(size + (4,), np.float32) if hint_image is None else hints_from_image(hint_image, size)


def colorize_array(colorizer, sketch: np.ndarray, palette: np.ndarray | None = None,
                   hint_image: np.ndarray | None = None) -> np.ndarray:
    """One uint8 [H, W, 3] sketch (+ uint8 [n, 3] palette, + hint image) -> uint8 [H, W, 3] colors."""
    inputs = [tf.constant(sketch[None])]
    if int(colorizer.palette_colors.numpy()):
        if palette is None:
            raise ValueError("this model is conditioned on a palette: pass --reference IMAGE or --palette COLORS")
        inputs.append(tf.constant(palette[None].astype(np.uint8)))
    if bool(colorizer.uses_hints.numpy()):
        inputs.append(tf.constant(model_hints(colorizer, sketch.shape[:2], hint_image)[None], tf.float32))
    return colorizer.serve(*inputs)["color"][0].numpy()


def palette_from_args(reference: str | None, colors: str | None, n_colors: int) -> np.ndarray | None:
    """uint8 [n_colors, 3] from --palette or from the K-means palette of --reference."""
    if not n_colors:
        return None
    if colors:
        palette = parse_palette(colors, n_colors)
    elif reference:
        palette = extract_palette(read_image_rgb(reference), n_colors)
    else:
        return None
    return to_uint8(np.asarray(palette))
