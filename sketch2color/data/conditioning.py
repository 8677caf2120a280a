"""Extra generator inputs: the base image (sketch / edges / gray), a color palette and color hints.

The generator's input is built per example, inside ``tf.data``, as::

    concat([base (3), palette planes (3 * n_colors)?, hints (4)?], axis=-1)

with everything in the pipeline's value range ([-1, 1]) except the hint mask channel (0 or 1).
:class:`ConditioningSpec` says which parts are on; :func:`input_channels` gives the width
(3, 30, 7 or 34 with the default 9 colors) and :func:`build_conditioned_input` assembles it.

Base input (``input_mode``)
    ``"sketch"``: the dataset's sketch half, unchanged. ``"edges"``: Canny edges of the color
    image and ``"gray"``: its luminance, the two inputs compared by Fu, Hsu & Yang (2017,
    "Colorization Using ConvNet and GAN"): gray keeps shading and gave clearer results, edges
    simulate line-only manga. Edges run the OpenCV extractor
    :func:`sketch2color.sketch.canny_edges` through ``tf.numpy_function``
    rather than a TF Sobel approximation: the lines are then exactly those of the ``canny``
    pairs written by the data scripts, and Canny's non-maximum suppression and hysteresis
    (1 px lines, no speckle) have no cheap TF equivalent. Cost: ~1 ms per 256 px image, and
    the op only runs where Python runs (tf.data is fine; it cannot go into an exported model).

Palette (the reference-palette colorizer, "Anime Sketch Colorizer with reference image")
    K-means with 9 clusters on the reference image; each cluster color becomes a constant
    3-channel plane, so 9 colors add 27 channels (3 + 27 = 30). During training the reference is
    the target itself. Unlike the reference code (whose cluster order is whatever cv2 returns),
    colors are **sorted by cluster size, largest first, ties by luminance (brightest first)**, so
    plane 0 is always the dominant color (usually the background) and the order carries meaning.
    One implementation serves training and inference: :func:`extract_palette` (``cv2.kmeans``
    with k-means++ seeding and 3 attempts on a seeded subsample of at most 4096 pixels, the
    reference clusters a 1/4-scale copy: 4096 pixels at 256 px). Inside ``tf.data``
    :func:`palette_tf` runs it through ``tf.numpy_function``, so a model is trained on exactly
    the palettes it is given at inference.

    :func:`parse_palette` turns a user's ``"#ff0000,#00ff00"`` into a palette (cycled to 9).

Color hints (the SGRU colorization proposal, after the hint maps of Ye et al.)
    The target downsampled 4x (area average), times a random 0/1 mask drawn per low-resolution
    cell, nearest-upsampled back to full size, plus the mask as a 4th channel. Where the mask is
    0 all four channels are 0. :func:`sample_stroke_hints_tf` (the default, ``hint_style``
    "strokes") draws the mask as short one-color strokes and dots, what users draw;
    :func:`sample_hints_tf` ("cells") as lone cells. Both use stateless random ops (same seed,
    same hints); :func:`hints_from_image` reads a user's hint image at inference.

Hint image convention (:func:`hints_from_image`)
    An RGBA image: pixels with alpha >= 128 are hints, the rest are not. An RGB (or gray) image:
    every pixel that is not near-white (any channel < 250) is a hint, so hints can be painted
    on a white canvas. (White itself can only be hinted with an RGBA image.) Hints are averaged
    per 4x4 cell like training hints; a cell is hinted if any of its pixels is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import cv2
import numpy as np
import tensorflow as tf

from sketch2color.data.pixels import HALF_RANGE, to_255, to_uint8, to_unit_range
from sketch2color.data.sketch import canny_edges

INPUT_MODES = ("sketch", "edges", "gray")
DEFAULT_N_COLORS = 9  # the reference colorizer: 9 clusters -> 27 palette channels
DEFAULT_PALETTE_SAMPLES = 4096  # the reference colorizer clusters a 1/4-scale 256 px image: 64 x 64 pixels
DEFAULT_PALETTE_ITERATIONS = 20  # cv2.kmeans' Lloyd steps (it also stops when centers move < 0.5 levels)
DEFAULT_PALETTE_ATTEMPTS = 3  # k-means++ starts, best kept
DEFAULT_HINT_DOWNSAMPLE = 4  # the SGRU proposal: hints live on a (w/4) x (w/4) grid
DEFAULT_HINT_KEEP_PROB = 0.02  # ~80 hinted cells of 4096 at 256 px: sparse, like a user's dots
HINT_CHANNELS = 4  # RGB + mask
HINT_STYLES = ("strokes", "cells")  # what training hints look like: drawn strokes and dots, or lone cells
STROKE_MAX_CELLS = 8  # the longest training stroke, in hint cells (32 px at 128 px: a short dash)
STROKE_COLOR_TOLERANCE = 24.0  # 0..255 levels: a stroke stops where the target's color changes
BASE_CHANNELS = 3
HINT_ALPHA_THRESHOLD = 128  # RGBA hint images: alpha at or above this is a hint
HINT_WHITE_LEVEL = 250  # RGB hint images: all channels at or above this is blank canvas
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as sketch.luminance


@dataclasses.dataclass(frozen=True)
class ConditioningSpec:
    """What the generator sees besides the base image, and how the extra inputs are made.

    ``hint_keep_prob`` is the probability that a low-resolution cell carries a hint: a float,
    or a ``(low, high)`` pair to draw a new density per example (so the model sees both sparse
    and dense hints). ``hint_empty_prob`` is the probability that an example gets no hints at
    all, so a hint-trained model still colors sensibly when the user gives none.
    """

    input_mode: str = "sketch"
    palette: bool = False
    hints: bool = False
    n_colors: int = DEFAULT_N_COLORS
    palette_samples: int = DEFAULT_PALETTE_SAMPLES
    palette_iterations: int = DEFAULT_PALETTE_ITERATIONS
    palette_attempts: int = DEFAULT_PALETTE_ATTEMPTS
    hint_downsample: int = DEFAULT_HINT_DOWNSAMPLE
    hint_keep_prob: float | tuple[float, float] = DEFAULT_HINT_KEEP_PROB
    hint_empty_prob: float = 0.0
    hint_style: str = "strokes"

    def __post_init__(self):
        """Normalise a JSON list keep_prob to a tuple, then validate every field."""
        if isinstance(self.hint_keep_prob, list):
            object.__setattr__(self, "hint_keep_prob", tuple(self.hint_keep_prob))
        _check_mode(self.input_mode)
        if (
            self.n_colors < 1
            or self.palette_samples < self.n_colors
            or self.palette_iterations < 0
            or self.palette_attempts < 1
        ):
            raise ValueError(
                "need n_colors >= 1, palette_samples >= n_colors, palette_iterations >= 0 and "
                f"palette_attempts >= 1, got {self.n_colors}, {self.palette_samples}, "
                f"{self.palette_iterations}, {self.palette_attempts}"
            )
        if self.hint_downsample < 1:
            raise ValueError(f"hint_downsample must be >= 1, got {self.hint_downsample}")
        _keep_prob_range(self.hint_keep_prob)
        if self.hint_style not in HINT_STYLES:
            raise ValueError(f"hint_style must be one of {', '.join(HINT_STYLES)}, got {self.hint_style!r}")
        if not 0.0 <= self.hint_empty_prob <= 1.0:
            raise ValueError(f"hint_empty_prob must be in [0, 1], got {self.hint_empty_prob}")


def input_channels(spec: ConditioningSpec) -> int:
    """Channels of the generator input for ``spec``: 3 (+ 3 * n_colors) (+ 4)."""
    return BASE_CHANNELS + (3 * spec.n_colors if spec.palette else 0) + (HINT_CHANNELS if spec.hints else 0)


def _check_mode(mode: str) -> None:
    """Raise ValueError for an unknown input mode, listing the valid ones."""
    if mode not in INPUT_MODES:
        raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {mode!r}")


def _keep_prob_range(keep_prob) -> tuple[float, float]:
    """A keep probability (float or (low, high)) as a validated (low, high) pair."""
    low, high = (keep_prob, keep_prob) if np.isscalar(keep_prob) else tuple(keep_prob)
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(
            f"hint keep_prob must be in [0, 1] (or a (low, high) pair within it), got {keep_prob}"
        )
    return float(low), float(high)


# --------------------------------------------------------------------------- base input


def grayscale_tf(color: tf.Tensor) -> tf.Tensor:
    """Luminance of a [-1, 1] RGB image, replicated to 3 channels, still in [-1, 1]."""
    unit = tf.cast(color, tf.float32) * 0.5 + 0.5  # rgb_to_grayscale's weights are meant for [0, 1]
    return tf.tile(tf.image.rgb_to_grayscale(unit), [1, 1, 3]) * 2.0 - 1.0


def _canny_unit_range(color: np.ndarray) -> np.ndarray:
    """numpy side of edges_tf: [-1, 1] float RGB -> Canny lines, [-1, 1] float32."""
    return to_unit_range(canny_edges(to_uint8(color)))


def edges_tf(color: tf.Tensor) -> tf.Tensor:
    """Canny edges (dark 1 px lines on white) of a [-1, 1] RGB image, [H, W, 3] in [-1, 1]."""
    color = tf.cast(color, tf.float32)
    edges = tf.numpy_function(_canny_unit_range, [color], tf.float32, stateful=False)
    return tf.ensure_shape(edges, color.shape)


def input_from_color(color: tf.Tensor, mode: str, sketch: tf.Tensor | None = None) -> tf.Tensor:
    """The 3-channel base input: ``sketch`` as is ("sketch"), or derived from ``color``."""
    _check_mode(mode)
    if mode == "sketch":
        if sketch is None:
            raise ValueError('input_mode "sketch" takes the dataset\'s sketch: pass sketch=')
        return tf.cast(sketch, tf.float32)
    return edges_tf(color) if mode == "edges" else grayscale_tf(color)


# --------------------------------------------------------------------------- palette: numpy


def _to_255(image) -> np.ndarray:
    """uint8 RGB, or float RGB in [-1, 1], as float32 0..255 of shape [H, W, 3]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"expected uint8 or float (in [-1, 1]) pixels, got {image.dtype}")
    return to_255(image)


def _order_by_size_then_luminance(counts: np.ndarray, colors_255: np.ndarray) -> np.ndarray:
    """Indices that sort clusters largest first, ties brightest first, then by RGB (total order)."""
    luminance = colors_255 @ np.array(_LUMA, np.float32)
    # lexsort: last key is primary
    return np.lexsort((-colors_255[:, 2], -colors_255[:, 1], -colors_255[:, 0], -luminance, -counts))


def extract_palette(
    image,
    n_colors: int = DEFAULT_N_COLORS,
    seed: int = 0,
    max_pixels: int = DEFAULT_PALETTE_SAMPLES,
    iterations: int = DEFAULT_PALETTE_ITERATIONS,
    attempts: int = DEFAULT_PALETTE_ATTEMPTS,
) -> np.ndarray:
    """The ``n_colors`` K-means colors of an image, largest cluster first: float32 [n, 3] in [-1, 1].

    ``image``: uint8 RGB, or float RGB in [-1, 1]. At most ``max_pixels`` pixels, drawn with
    ``numpy.random.default_rng(seed)``, are clustered by ``cv2.kmeans`` (k-means++, ``attempts``
    starts, at most ``iterations`` Lloyd steps, OpenCV's per-thread RNG seeded with ``seed``), so
    the result depends only on the image and the seed.
    """
    pixels = _to_255(image).reshape(-1, 3)
    if len(pixels) > max_pixels:
        chosen = np.random.default_rng(seed).choice(len(pixels), size=max_pixels, replace=False)
        pixels = pixels[np.sort(chosen)]
    if len(pixels) < n_colors:  # cv2.kmeans needs at least one sample per cluster
        pixels = np.resize(pixels, (n_colors, 3))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, iterations, 0.5)
    _, labels, centers = cv2.kmeans(
        np.ascontiguousarray(pixels, np.float32), n_colors, None, criteria, attempts, cv2.KMEANS_PP_CENTERS
    )
    counts = np.bincount(labels.ravel(), minlength=n_colors)
    order = _order_by_size_then_luminance(counts, centers)
    return to_unit_range(centers[order])


_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _parse_hex(token: str) -> tuple[int, int, int]:
    """'#rrggbb', 'rrggbb' or '#rgb' -> (r, g, b) in 0..255; ValueError on anything else."""
    match = _HEX_COLOR.match(token)
    if not match:
        raise ValueError(f"bad palette color {token!r}: expected a hex color like #ff8800 or #f80")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def parse_palette(text: str | Sequence[str], n_colors: int = DEFAULT_N_COLORS) -> np.ndarray:
    """A user's palette ("#ff0000,#00ff00" or a list of hex strings) as float32 [n_colors, 3] in [-1, 1].

    Fewer colors than ``n_colors`` are repeated cyclically (``#a,#b`` -> a, b, a, b, ...), the
    order given being kept: put the dominant (background) color first, as extract_palette does.
    """
    tokens = (
        list(re.split(r"[,\s;]+", text.strip())) if isinstance(text, str) else [str(t).strip() for t in text]
    )
    tokens = [t for t in tokens if t]
    if not tokens:
        raise ValueError(f"empty palette: give 1 to {n_colors} hex colors, e.g. '#ffffff,#f0c8a0,#203060'")
    if len(tokens) > n_colors:
        raise ValueError(f"palette has {len(tokens)} colors, the model takes at most {n_colors}")
    colors = np.array([_parse_hex(t) for t in tokens], np.float32)
    return to_unit_range(np.resize(colors, (n_colors, 3)))


# --------------------------------------------------------------------------- palette in tf.data


def palette_tf(
    color: tf.Tensor,
    n_colors: int = DEFAULT_N_COLORS,
    iterations: int = DEFAULT_PALETTE_ITERATIONS,
    seed: tf.Tensor | None = None,
    max_samples: int = DEFAULT_PALETTE_SAMPLES,
    attempts: int = DEFAULT_PALETTE_ATTEMPTS,
) -> tf.Tensor:
    """:func:`extract_palette` of a [-1, 1] RGB image as a graph op: [n_colors, 3] in [-1, 1].

    ``seed`` (shape [2], e.g. the augmentation seed) picks the pixel subsample and the k-means++
    draws; None uses seed 0, so the palette is then a pure function of the image.
    """

    def kmeans(image: np.ndarray, seed_pair: np.ndarray) -> np.ndarray:
        # cv2 wants one non-negative int32 seed: fold the two halves into it.
        folded = (int(seed_pair[0]) * 1_000_003 + int(seed_pair[1])) % 2**31
        return extract_palette(image, n_colors, folded, max_samples, iterations, attempts)

    seed = tf.zeros([2], tf.int64) if seed is None else tf.cast(seed, tf.int64)
    palette = tf.numpy_function(kmeans, [tf.cast(color, tf.float32), seed], tf.float32, stateful=False)
    return tf.ensure_shape(palette, (n_colors, 3))


def palette_planes(palette, height: int, width: int) -> tf.Tensor:
    """Constant color planes [height, width, 3 * n]: channels 3i..3i+2 hold color i."""
    return _palette_planes(palette, tf.stack([height, width]))


def _palette_planes(palette, pixel_shape: tf.Tensor) -> tf.Tensor:
    """Palettes [..., n, 3] as constant planes [..., H, W, 3n], ``pixel_shape`` = [..., H, W]."""
    palette = tf.cast(tf.convert_to_tensor(palette), tf.float32)
    flat = tf.reshape(palette, tf.concat([tf.shape(palette)[:-2], [1, 1, -1]], 0))  # [..., 1, 1, 3n]
    return tf.broadcast_to(flat, tf.concat([pixel_shape, tf.shape(flat)[-1:]], 0))


# --------------------------------------------------------------------------- hints


def downsampled_colors(color: tf.Tensor, downsample: int) -> tf.Tensor:
    """The image averaged over ``downsample`` x ``downsample`` cells: [ceil(H/d), ceil(W/d), 3]."""
    height, width = tf.shape(color)[0], tf.shape(color)[1]
    cells = tf.stack([-(-height // downsample), -(-width // downsample)])
    return tf.image.resize(tf.cast(color, tf.float32), cells, method="area")


def _upsample_cells(cells: tf.Tensor, height, width) -> tf.Tensor:
    """Cells back to full resolution, each cell a flat block (nearest neighbour)."""
    return tf.image.resize(cells, tf.stack([height, width]), method="nearest")


def sample_hints_tf(
    color: tf.Tensor,
    seed: tf.Tensor,
    downsample: int = DEFAULT_HINT_DOWNSAMPLE,
    keep_prob: float | tuple[float, float] = DEFAULT_HINT_KEEP_PROB,
    empty_prob: float = 0.0,
) -> tf.Tensor:
    """Random sparse color hints [H, W, 4] from the target: cell colors x mask, and the mask.

    Each low-resolution cell is kept with probability ``keep_prob`` (or a density drawn per
    example from a ``(low, high)`` range); with probability ``empty_prob`` nothing is kept.
    Stateless ops: the same ``seed`` (shape [2]) gives the same hints.
    """
    low, high = _keep_prob_range(keep_prob)
    mask_seed, density_seed, empty_seed = tf.unstack(tf.random.split(seed, 3))
    cells = downsampled_colors(color, downsample)
    density = tf.random.stateless_uniform([], density_seed, low, high) if high > low else tf.constant(low)
    draws = tf.random.stateless_uniform(tf.concat([tf.shape(cells)[:2], [1]], 0), mask_seed)
    mask = tf.cast(draws < density, tf.float32)
    if empty_prob > 0:
        mask *= tf.cast(tf.random.stateless_uniform([], empty_seed) >= empty_prob, tf.float32)
    hints = tf.concat([cells * mask, mask], axis=-1)
    return _upsample_cells(hints, tf.shape(color)[0], tf.shape(color)[1])


def sample_stroke_hints_tf(
    color: tf.Tensor,
    seed: tf.Tensor,
    downsample: int = DEFAULT_HINT_DOWNSAMPLE,
    keep_prob: float | tuple[float, float] = DEFAULT_HINT_KEEP_PROB,
    empty_prob: float = 0.0,
    max_cells: int = STROKE_MAX_CELLS,
) -> tf.Tensor:
    """Random hints [H, W, 4] that look drawn: short straight strokes and dots, each in one color.

    Like a user's brush: a stroke starts in a random cell, takes the target's color there and
    runs 0 (a dot) to ``max_cells`` cells in a random direction, kept only where the target stays
    within :data:`STROKE_COLOR_TOLERANCE` of that color (a stroke stays inside its region).
    Strokes are drawn to cover ``keep_prob`` of the cells; overlaps and the color test leave
    fewer (about half on small regions). The layout of the result is that of
    :func:`sample_hints_tf` (cell colors in [-1, 1] and the 0/1 mask), so models take either.
    """
    low, high = _keep_prob_range(keep_prob)
    start_seed, angle_seed, length_seed, density_seed, empty_seed, use_seed = tf.unstack(
        tf.random.split(seed, 6)
    )
    cells = downsampled_colors(color, downsample)  # [-1, 1] [h, w, 3]
    grid = tf.shape(cells)[:2]
    area = tf.cast(grid[0] * grid[1], tf.float32)
    density = tf.random.stateless_uniform([], density_seed, low, high) if high > low else tf.constant(low)
    mean_cells = 1.0 + max_cells / 2.0  # cells per stroke (uniform length 0..max_cells), before overlaps
    budget = tf.cast(tf.math.ceil(high * area / mean_cells), tf.int32) + 1  # strokes at the top density
    used = tf.random.stateless_uniform([budget], use_seed) * high < density  # this example's share
    starts = tf.random.stateless_uniform([budget, 2], start_seed) * tf.cast(grid - 1, tf.float32)
    angles = tf.random.stateless_uniform([budget], angle_seed, 0.0, 2.0 * np.pi)
    lengths = tf.floor(tf.random.stateless_uniform([budget], length_seed, 0.0, max_cells + 1.0))
    steps = tf.range(max_cells + 1, dtype=tf.float32)  # points 0..max_cells along each stroke
    along = tf.minimum(steps[None, :], lengths[:, None])  # a shorter stroke repeats its end point
    points = tf.stack(
        [starts[:, :1] + along * tf.sin(angles)[:, None], starts[:, 1:] + along * tf.cos(angles)[:, None]],
        axis=-1,
    )
    points = tf.clip_by_value(tf.round(points), 0.0, tf.cast(grid - 1, tf.float32)[None, None])
    indices = tf.reshape(tf.cast(points, tf.int32), [-1, 2])  # [budget * (max_cells + 1), 2]
    stroke_color = tf.gather_nd(cells, tf.cast(tf.round(starts), tf.int32))  # each stroke's one color
    point_color = tf.repeat(stroke_color, max_cells + 1, axis=0)
    distance = tf.norm(tf.gather_nd(cells, indices) - point_color, axis=-1) * HALF_RANGE  # in 0..255 levels
    inside = distance <= STROKE_COLOR_TOLERANCE
    keep = tf.logical_and(inside, tf.repeat(used, max_cells + 1))
    if empty_prob > 0:
        keep = tf.logical_and(keep, tf.random.stateless_uniform([], empty_seed) >= empty_prob)
    weight = tf.cast(keep, tf.float32)[:, None]
    shape = tf.concat([grid, [3]], 0)
    color_sum = tf.scatter_nd(indices, point_color * weight, shape)
    count = tf.scatter_nd(indices, weight, tf.concat([grid, [1]], 0))
    mask = tf.cast(count > 0, tf.float32)
    mean_color = color_sum / tf.maximum(count, 1.0)  # overlapping strokes: their mean color
    hints = tf.concat([mean_color * mask, mask], axis=-1)
    return _upsample_cells(hints, tf.shape(color)[0], tf.shape(color)[1])


def _hint_pixels(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colors float32 0..255 [H, W, 3], hinted float32 0/1 [H, W]) under the hint-image convention."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"hint images are uint8 RGB or RGBA, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"hint images are [H, W], [H, W, 3] or [H, W, 4], got shape {image.shape}")
    if image.shape[-1] == 4:
        hinted = image[..., 3] >= HINT_ALPHA_THRESHOLD
        rgb = image[..., :3]
    else:
        rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
        hinted = (rgb < HINT_WHITE_LEVEL).any(axis=-1)
    return rgb.astype(np.float32), hinted.astype(np.float32)


def hints_from_image(
    hint_image, size: int | tuple[int, int], downsample: int = DEFAULT_HINT_DOWNSAMPLE
) -> np.ndarray:
    """A user's hint image (uint8 RGBA, or RGB on white) as model hints: float32 [H, W, 4].

    Same layout as :func:`sample_hints_tf`: per ``downsample`` cell the mean color of its hinted
    pixels in [-1, 1] and mask 1 if any pixel of the cell is hinted, else zeros. The image is
    rescaled to ``size`` (an int for square, or (height, width)) by area averaging first.
    """
    height, width = (size, size) if np.isscalar(size) else size
    rgb, hinted = _hint_pixels(hint_image)
    cell_shape = (-(-width // downsample), -(-height // downsample))  # cv2 sizes are (width, height)
    # Area averages of (color x hinted) and of hinted: their ratio is the mean hinted color.
    weighted = cv2.resize(rgb * hinted[..., None], cell_shape, interpolation=cv2.INTER_AREA)
    coverage = cv2.resize(hinted, cell_shape, interpolation=cv2.INTER_AREA)
    mask = (coverage > 1e-6).astype(np.float32)
    colors = np.where(
        mask[..., None] > 0, to_unit_range(weighted / np.maximum(coverage, 1e-6)[..., None]), 0.0
    )
    cells = np.concatenate([colors, mask[..., None]], axis=-1).astype(np.float32)
    return _upsample_cells(tf.constant(cells), height, width).numpy()


# --------------------------------------------------------------------------- assembly


def assemble_input(base, spec: ConditioningSpec, palette=None, hints=None) -> tf.Tensor:
    """concat([base, palette planes?, hints?]) for ``spec``: [..., H, W, input_channels(spec)].

    The one place the generator input is put together, for one image (tf.data) or a batch (the
    exported model): ``base`` [H, W, 3] or [B, H, W, 3] in [-1, 1]; ``palette`` [n_colors, 3]
    or [B, n_colors, 3] in [-1, 1], required when ``spec.palette`` (extract_palette or
    parse_palette); ``hints`` like ``base`` with 4 channels, None meaning "no hints".
    """
    base = tf.cast(tf.convert_to_tensor(base), tf.float32)
    pixel_shape = tf.shape(base)[:-1]
    parts = [base]
    if spec.palette:
        if palette is None:
            raise ValueError("this model takes a color palette: give a reference image or a palette")
        parts.append(_palette_planes(palette, pixel_shape))
    if spec.hints:
        no_hints = hints is None
        parts.append(
            tf.zeros(tf.concat([pixel_shape, [HINT_CHANNELS]], 0)) if no_hints else tf.cast(hints, tf.float32)
        )
    joined = tf.concat(parts, axis=-1)
    return tf.ensure_shape(joined, base.shape[:-1] + (input_channels(spec),))


def split_input(inputs, spec: ConditioningSpec) -> tuple[tf.Tensor, tf.Tensor | None, tf.Tensor | None]:
    """The inverse of :func:`assemble_input`: (base [..., H, W, 3], palette [..., n, 3] or None,
    hints or None)."""
    base = inputs[..., :BASE_CHANNELS]
    palette = hints = None
    if spec.palette:  # constant planes: any one pixel holds the whole palette
        planes = inputs[..., 0, 0, BASE_CHANNELS : BASE_CHANNELS + 3 * spec.n_colors]
        palette = tf.reshape(planes, tf.concat([tf.shape(planes)[:-1], [spec.n_colors, 3]], 0))
    if spec.hints:
        hints = inputs[..., -HINT_CHANNELS:]
    return base, palette, hints


def build_conditioned_input(
    sketch: tf.Tensor, color: tf.Tensor, spec: ConditioningSpec, seed: tf.Tensor | None = None
) -> tf.Tensor:
    """The generator input of one training pair, [H, W, input_channels(spec)], for ``tf.data``.

    The palette and hints come from ``color`` (the target) as the reference; ``seed`` (shape [2],
    e.g. the augmentation seed) drives the hint sampling and is required when ``spec.hints``.
    """
    base = input_from_color(color, spec.input_mode, sketch=sketch)
    palette = hints = None
    if spec.palette:
        palette = palette_tf(
            color,
            spec.n_colors,
            spec.palette_iterations,
            max_samples=spec.palette_samples,
            attempts=spec.palette_attempts,
        )
    if spec.hints:
        if seed is None:
            raise ValueError("hints are random: build_conditioned_input needs a seed (shape [2])")
        sampler = sample_stroke_hints_tf if spec.hint_style == "strokes" else sample_hints_tf
        hints = sampler(color, seed, spec.hint_downsample, spec.hint_keep_prob, spec.hint_empty_prob)
    return assemble_input(base, spec, palette, hints)
