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


def conditioning_of(colorizer) -> tuple[int, bool]:
    """(palette colors, takes hints) of a Colorizer, saved or in memory (0, False for plain sketch models)."""
    # Exports from before conditioning existed have neither variable: plain sketch models.
    palette_colors = int(colorizer.palette_colors.numpy()) if hasattr(colorizer, "palette_colors") else 0
    uses_hints = bool(colorizer.uses_hints.numpy()) if hasattr(colorizer, "uses_hints") else False
    return palette_colors, uses_hints


DETAIL_MODES = ("lines", "none")


def serve(colorizer, sketches, palette=None, hints=None, detail: str = "lines") -> np.ndarray:
    """uint8 sketches [B, H, W, 3] -> uint8 colors [B, H, W, 3] through the export's ``serve`` signature.

    Palette models need ``palette`` uint8 [B, n, 3]; hint models take ``hints`` float32
    [B, H, W, 4] (None: no hints). Inputs a model does not take are ignored. ``detail``:
    "lines" keeps a large sketch's own lines at full resolution, "none" is the plain upscale.
    """
    if detail not in DETAIL_MODES:
        raise ValueError(f"detail must be one of {', '.join(DETAIL_MODES)}, got {detail!r}")
    # Exports from before the line-preserving output have one function, the plain upscale.
    function = (
        colorizer.serve_plain if detail == "none" and hasattr(colorizer, "serve_plain") else colorizer.serve
    )
    palette_colors, uses_hints = conditioning_of(colorizer)
    inputs = [tf.constant(sketches, tf.uint8)]
    if palette_colors:
        if palette is None:
            raise ValueError(
                "this model is conditioned on a palette: pass --reference IMAGE or --palette COLORS"
            )
        inputs.append(tf.constant(palette, tf.uint8))
    if uses_hints:
        no_hints = np.zeros(np.shape(sketches)[:3] + (4,), np.float32)
        inputs.append(tf.constant(no_hints if hints is None else hints, tf.float32))
    return function(*inputs)["color"].numpy()


def colorize_array(
    colorizer,
    sketch: np.ndarray,
    palette: np.ndarray | None = None,
    hint_image: np.ndarray | None = None,
    detail: str = "lines",
) -> np.ndarray:
    """One uint8 [H, W, 3] sketch (+ uint8 [n, 3] palette, + hint image) -> uint8 [H, W, 3] colors."""
    _, uses_hints = conditioning_of(colorizer)
    hints = model_hints(colorizer, sketch.shape[:2], hint_image)[None] if uses_hints else None
    return serve(colorizer, sketch[None], None if palette is None else palette[None], hints, detail)[0]


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


def same_aspect(first: tuple[int, ...], second: tuple[int, ...], tolerance: float = 0.01) -> bool:
    """Whether two [H, W, ...] shapes have the same width/height ratio within ``tolerance``."""
    return abs(first[1] / first[0] - second[1] / second[0]) <= tolerance * second[1] / second[0]
