"""The embedded procedural dataset: anime-style illustrations with their line art.

The real training data (Kaggle "Anime Sketch Colorization Pair") may not be available, so
the package ships a generator of pairs in the same format: one RGB image of width 2 x height,
the colored illustration on the LEFT, its line-art sketch (dark lines on white, no fills)
on the RIGHT. Everything is drawn with OpenCV at the target resolution from a seed, so the
same seed gives the same pixels in every process.

Two kinds of drawing (about 70 / 30):

* **portrait** -- an anime bust: hair in one of six styles, face with big eyes, neck,
  clothes with a collar, sometimes an accessory, in front of a plain, sparkly or outdoor
  background;
* **landscape** -- sky, sun, clouds, mountains or hills, grass, a path or pond, houses
  and trees.

Every region is a flat "cel" fill (base color, a darker shadow crescent on the side away
from the light, sometimes a highlight) with a dark outline. Fills and lines are drawn in
lockstep on two layers -- a color layer and an "ink" layer -- and a shape erases the ink it
covers, so the sketch half is exactly the outlines visible in the color half.

Learnable regularities (what a colorization model can infer from the sketch alone; every
color gets a small random jitter in hue, saturation and value, so there is variety):

=====================  ==========================================================
Visible in the sketch  Color
=====================  ==========================================================
spiky hair             red / orange (hue ~12)
long straight hair     deep blue (hue ~228)
twin tails             pink (hue ~332), red hair ties
bob cut                chestnut brown (hue ~26, darker)
ponytail               blonde (hue ~48, bright)
short hair             teal (hue ~165)
eyes                   same hue family as the hair, more saturated
face, neck, ears       skin tones (mostly light peach, sometimes tan)
hatching on cheeks     pink blush under the hatching
open mouth             dark red mouth, pink tongue
sailor collar          white top, navy collar with a white stripe, red scarf
blazer lapels + tie    dark green blazer, white shirt, red tie
round t-shirt neck     light blue t-shirt
hood + drawstrings     lavender-gray hoodie
turtleneck ribs        wine red sweater
bow / hair clip        red bow / yellow clip
flower ornament        pink petals, yellow center
cat ears               hair color, pink inside
empty background       near-white; with sparkle outlines: pale pink, sparkles pale yellow
sky (no lines above    blue gradient, deeper at the top; clouds white; sun yellow
the horizon)
ground, round trees    grass green; round canopies leaf green, pines dark green
mountains (peaks)      blue-gray with white snow caps; rounded far hills: pale green
houses                 cream walls; triangular gable roof red, trapezoid roof blue-gray;
                       brown doors, pale blue windows; brown tree trunks
path / pond            tan path; light blue water
=====================  ==========================================================

Light comes from the upper left (shadows on the lower right) unless a sun is drawn on the
right half of a landscape, then it comes from the upper right.

Typical use::

    pair = render_pair(seed=7)                       # (512, 1024, 3) uint8, RGB
    root = ensure_embedded_dataset(n_train=800)      # cached <root>/train/*.png, <root>/val/*.png
"""

from __future__ import annotations

import colorsys
import concurrent.futures
import json
import os
import shutil
import socket
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

PAIR_FORMAT_VERSION = 1

MARKER_NAME = "DATASET.json"
GENERATOR_NAME = "sketch2color.synthetic"
SPLITS = ("train", "val")
REFERENCE_SIZE = 512  # line widths are given in pixels at this size and scaled from it
SHIFT = 4  # fixed-point fraction bits: cv2 then draws at 1/16 pixel precision
FIXED_ONE = 1 << SHIFT
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # large fast files beat small slow ones here
OUTLINE = 2.0  # outline width in pixels at REFERENCE_SIZE
DETAIL = 1.2  # width of inner detail lines

RGB = tuple[int, int, int]


# --------------------------------------------------------------------------- colors


def hsv_rgb(hue: float, sat: float, val: float) -> RGB:
    """RGB 0..255 from hue in degrees and saturation / value in [0, 1]."""
    r, g, b = colorsys.hsv_to_rgb((hue % 360.0) / 360.0, min(max(sat, 0.0), 1.0), min(max(val, 0.0), 1.0))
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


def rgb_hsv(rgb: Sequence[int]) -> tuple[float, float, float]:
    """Hue in degrees and saturation / value in [0, 1] of an RGB 0..255 color."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    return h * 360.0, s, v


def shadow_of(rgb: RGB, depth: float = 0.2) -> RGB:
    """The cel-shadow tone of a color: darker, a little more saturated, hue drawn toward violet."""
    hue, sat, val = rgb_hsv(rgb)
    if sat < 0.08:  # whites and grays shade to a cool gray-blue, as in anime
        hue, sat = 225.0, sat + 0.07
    else:
        to_violet = (250.0 - hue + 180.0) % 360.0 - 180.0
        hue += float(np.clip(to_violet, -12.0, 12.0))
        sat = min(1.0, sat * 1.08 + 0.05)
    return hsv_rgb(hue, sat, val * (1.0 - depth))


def highlight_of(rgb: RGB, amount: float = 0.5) -> RGB:
    """A lighter, less saturated tone of a color for shiny highlights."""
    hue, sat, val = rgb_hsv(rgb)
    return hsv_rgb(hue, sat * (1.0 - 0.5 * amount), val + (1.0 - val) * amount + 0.1 * amount)


@dataclass(frozen=True)
class Family:
    """A color family: a hue with jitter and ranges of saturation and value."""

    hue: float
    hue_jitter: float
    sat: tuple[float, float]
    val: tuple[float, float]

    def sample(self, rng: np.random.Generator) -> RGB:
        """One color of the family."""
        hue = self.hue + rng.uniform(-self.hue_jitter, self.hue_jitter)
        return hsv_rgb(hue, rng.uniform(*self.sat), rng.uniform(*self.val))


HAIR_STYLES = ("spiky", "long", "twintails", "bob", "ponytail", "short")
HAIR = {
    "spiky": Family(12, 9, (0.70, 0.88), (0.80, 0.95)),  # fiery red-orange
    "long": Family(228, 9, (0.45, 0.65), (0.42, 0.62)),  # deep blue
    "twintails": Family(332, 9, (0.35, 0.52), (0.92, 1.00)),  # pink
    "bob": Family(26, 6, (0.50, 0.65), (0.42, 0.56)),  # chestnut brown
    "ponytail": Family(48, 6, (0.45, 0.62), (0.93, 1.00)),  # blonde
    "short": Family(165, 9, (0.45, 0.65), (0.50, 0.68)),  # teal
}
ACCESSORIES = ("none", "bow", "clip", "flower", "glasses", "cat_ears")
ACCESSORY_ODDS = (0.35, 0.15, 0.13, 0.12, 0.13, 0.12)
COLLARS = ("sailor", "blazer", "tshirt", "hoodie", "turtleneck")
CLOTHES = {
    "sailor": Family(215, 20, (0.00, 0.05), (0.96, 1.00)),  # white top (the collar is navy)
    "blazer": Family(150, 8, (0.35, 0.50), (0.30, 0.42)),  # dark green
    "tshirt": Family(200, 8, (0.35, 0.50), (0.85, 0.95)),  # light blue
    "hoodie": Family(268, 10, (0.15, 0.28), (0.70, 0.84)),  # lavender gray
    "turtleneck": Family(348, 6, (0.50, 0.65), (0.45, 0.58)),  # wine red
}
SAILOR_COLLAR = Family(222, 5, (0.55, 0.72), (0.30, 0.42))
WHITE = Family(215, 20, (0.00, 0.04), (0.97, 1.00))
RED = Family(356, 6, (0.70, 0.85), (0.78, 0.92))
YELLOW = Family(50, 5, (0.60, 0.78), (0.95, 1.00))
PINK = Family(335, 8, (0.30, 0.42), (0.97, 1.00))
SKIN_LIGHT = Family(22, 5, (0.12, 0.24), (0.96, 1.00))
SKIN_TAN = Family(24, 5, (0.30, 0.40), (0.78, 0.88))
BLUSH = Family(350, 5, (0.28, 0.36), (0.98, 1.00))
MOUTH = Family(355, 5, (0.55, 0.65), (0.45, 0.55))
EYE_WHITE = Family(215, 10, (0.00, 0.04), (0.98, 1.00))
BACKGROUND_PLAIN = Family(40, 40, (0.00, 0.04), (0.97, 1.00))
BACKGROUND_SPARKLE = Family(335, 12, (0.10, 0.17), (0.98, 1.00))
SPARKLE = Family(52, 5, (0.25, 0.40), (0.99, 1.00))
SKY_TOP = Family(212, 8, (0.50, 0.68), (0.86, 0.95))
SUN = Family(47, 4, (0.62, 0.75), (0.99, 1.00))
CLOUD = Family(210, 10, (0.00, 0.05), (0.99, 1.00))
GRASS = Family(105, 10, (0.50, 0.66), (0.70, 0.84))
MOUNTAIN = Family(222, 8, (0.18, 0.30), (0.60, 0.74))
LEAVES = Family(100, 10, (0.55, 0.70), (0.56, 0.70))
PINE = Family(150, 8, (0.50, 0.68), (0.32, 0.44))
TRUNK = Family(25, 6, (0.45, 0.60), (0.36, 0.48))
WALL = Family(40, 8, (0.08, 0.18), (0.94, 1.00))
ROOF = {"gable": Family(6, 7, (0.60, 0.74), (0.66, 0.80)), "hipped": Family(212, 8, (0.30, 0.44), (0.46, 0.60))}
DOOR = Family(25, 6, (0.45, 0.60), (0.40, 0.52))
WINDOW = Family(195, 6, (0.20, 0.32), (0.96, 1.00))
PATH = Family(35, 5, (0.25, 0.36), (0.86, 0.95))
WATER = Family(198, 6, (0.40, 0.55), (0.88, 0.98))


# --------------------------------------------------------------------------- geometry


def ellipse(cx: float, cy: float, rx: float, ry: float, start: float = 0.0, end: float = 360.0,
            n: int = 36, angle: float = 0.0) -> np.ndarray:
    """Points on an ellipse (or an arc of it), angles in degrees, y down."""
    full = abs(end - start) >= 360.0
    t = np.radians(np.linspace(start, end, n, endpoint=not full))
    x, y = rx * np.cos(t), ry * np.sin(t)
    if angle:
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        x, y = x * c - y * s, x * s + y * c
    return np.stack([x + cx, y + cy], axis=1)


def bezier(p0: Sequence[float], control: Sequence[float], p1: Sequence[float], n: int = 8) -> np.ndarray:
    """Points on a quadratic Bezier curve."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, control, p1 = (np.asarray(p, float) for p in (p0, control, p1))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p1


def spline(points: Sequence[Sequence[float]], closed: bool = False, samples: int = 6) -> np.ndarray:
    """A smooth Catmull-Rom curve through the points."""
    p = np.asarray(points, float)
    p = np.vstack([p[-1], p, p[0], p[1]]) if closed else np.vstack([p[0], p, p[-1]])
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None, None]
    p0, p1, p2, p3 = p[:-3], p[1:-2], p[2:-1], p[3:]
    curve = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                   + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
    out = curve.transpose(1, 0, 2).reshape(-1, 2)
    return out if closed else np.vstack([out, p[-2]])


def mirror_x(points: np.ndarray) -> np.ndarray:
    """Points mirrored through the vertical axis x = 0."""
    return np.asarray(points, float) * (-1.0, 1.0)


def rotate(points: np.ndarray, degrees: float, center: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """Points rotated about a center (clockwise on screen for positive degrees, y down)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    centered = np.asarray(points, float) - center
    return centered @ np.array([[c, s], [-s, c]]) + center


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The four corners of an axis-aligned rectangle."""
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], float)


def trapezoid(x: float, base: float, bottom_half: float, top_half: float, height: float) -> np.ndarray:
    """A trapezoid standing on (x, base): half widths at the bottom and the top."""
    top = base - height
    return np.array([(x - bottom_half, base), (x + bottom_half, base), (x + top_half, top), (x - top_half, top)])


def lerp(a: Sequence[float], b: Sequence[float], t: float) -> np.ndarray:
    """The point a fraction t of the way from a to b."""
    a = np.asarray(a, float)
    return a + (np.asarray(b, float) - a) * t


def _fixed(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates as cv2 fixed-point int32 (see SHIFT)."""
    return np.rint(np.asarray(points, float) * FIXED_ONE).astype(np.int32)


class Pose:
    """Maps head-local coordinates (head radius 1, y down) to canvas pixels."""

    def __init__(self, center: Sequence[float], radius: float, angle: float, mirror: bool):
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        flip = -1.0 if mirror else 1.0
        self.matrix = radius * np.array([[flip * c, flip * s], [-s, c]])
        self.center = np.asarray(center, float)
        self.radius = radius

    def __call__(self, points: Iterable) -> np.ndarray:
        """Canvas pixels of head-local points."""
        return np.asarray(points, float) @ self.matrix + self.center


# --------------------------------------------------------------------------- canvas


class Canvas:
    """A color layer and an ink (line) layer drawn in lockstep.

    A filled shape erases the ink it covers before its own outline is drawn, so the ink
    layer holds exactly the lines that are visible in the finished color image.
    """

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        self.rng = rng
        self.scale = size / REFERENCE_SIZE
        self.fill = np.full((size, size, 3), 255, np.uint8)
        self.ink = np.zeros((size, size), np.uint8)
        self.line_rgb = hsv_rgb(rng.uniform(0, 360), rng.uniform(0.2, 0.5), rng.uniform(0.06, 0.18))
        self.ink_level = int(rng.integers(205, 256))
        self.shadow_dir = np.array([0.8, 0.6])  # light from the upper left

    def thickness(self, width: float) -> int:
        """cv2 line thickness for a width given at REFERENCE_SIZE."""
        return max(1, int(round(width * self.scale)))

    def _ink_value(self) -> int:
        """Darkness of the next stroke: the drawing's level with a little jitter."""
        return int(min(255, self.ink_level + self.rng.integers(-14, 15)))

    def stroke(self, points: np.ndarray, width: float = DETAIL, closed: bool = False) -> None:
        """A line (ink only)."""
        thickness = self.thickness(width)
        cv2.polylines(self.ink, [_fixed(points)], closed, self._ink_value(), thickness, cv2.LINE_AA, SHIFT)

    def ink_fill(self, polygon: np.ndarray) -> None:
        """A solid ink area, e.g. eyelashes."""
        cv2.fillPoly(self.ink, [_fixed(polygon)], self._ink_value(), cv2.LINE_AA, SHIFT)

    def shape(self, polygon: np.ndarray, rgb: RGB, shade: float = 0.0, width: float = OUTLINE) -> None:
        """An outlined flat fill with an optional shadow crescent ``shade`` pixels wide."""
        pts = [_fixed(polygon)]
        cv2.fillPoly(self.fill, pts, rgb, cv2.LINE_8, SHIFT)
        cv2.fillPoly(self.ink, pts, 0, cv2.LINE_8, SHIFT)
        if shade > 0:
            self.paint([polygon], shadow_of(rgb), minus=[polygon - self.shadow_dir * shade])
        cv2.polylines(self.ink, pts, True, self._ink_value(), self.thickness(width), cv2.LINE_AA, SHIFT)

    def blob(self, polygons: list[np.ndarray], rgb: RGB, shade: float = 0.0, width: float = OUTLINE) -> None:
        """The union of overlapping shapes with only its outer outline (clouds, tree tops)."""
        # Each outline is drawn twice as wide, then the fills erase the inner half and every
        # interior arc, leaving one clean outline around the union.
        doubled = 2 * self.thickness(width)
        for polygon in polygons:
            cv2.polylines(self.ink, [_fixed(polygon)], True, self._ink_value(), doubled, cv2.LINE_AA, SHIFT)
        for polygon in polygons:
            pts = [_fixed(polygon)]
            cv2.fillPoly(self.fill, pts, rgb, cv2.LINE_8, SHIFT)
            cv2.fillPoly(self.ink, pts, 0, cv2.LINE_8, SHIFT)
        if shade > 0:
            self.paint(polygons, shadow_of(rgb), minus=[p - self.shadow_dir * shade for p in polygons])

    def paint(self, polygons: list[np.ndarray], rgb: RGB, clip: list[np.ndarray] | None = None,
              minus: list[np.ndarray] | None = None) -> None:
        """Color the union of polygons, within ``clip`` and outside ``minus``, leaving lines alone."""
        box = self._box(polygons if clip is None else clip)
        if box is None:
            return
        x0, y0, x1, y1 = box
        mask = self._mask(polygons, box)
        if clip is not None:
            cv2.bitwise_and(mask, self._mask(clip, box), dst=mask)
        if minus is not None:
            cv2.subtract(mask, self._mask(minus, box), dst=mask)
        patch = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        cv2.rectangle(patch, (0, 0), (x1 - x0, y1 - y0), rgb, -1)
        cv2.copyTo(patch, mask, self.fill[y0:y1, x0:x1])  # writes through the view; much faster than numpy masking

    def _box(self, polygons: list[np.ndarray]) -> tuple[int, int, int, int] | None:
        """Pixel bounding box of polygons, clipped to the canvas; None when off the canvas."""
        stacked = np.concatenate(polygons)
        x0, y0 = np.maximum(np.floor(stacked.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(stacked.max(axis=0)).astype(int) + 2, self.size)
        if x0 >= x1 or y0 >= y1:
            return None
        return int(x0), int(y0), int(x1), int(y1)

    @staticmethod
    def _mask(polygons: list[np.ndarray], box: tuple[int, int, int, int]) -> np.ndarray:
        """0/1 mask of the union of polygons inside a box."""
        x0, y0, x1, y1 = box
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for polygon in polygons:  # one call per polygon: fillPoly would XOR overlapping ones
            cv2.fillPoly(mask, [_fixed(polygon - (x0, y0))], 1, cv2.LINE_8, SHIFT)
        return mask

    def gradient(self, top: RGB, bottom: RGB, y0: int, y1: int) -> None:
        """Fill whole rows y0..y1 with a vertical gradient (no lines)."""
        y0, y1 = max(0, y0), min(self.size, y1)
        if y1 <= y0:
            return
        t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
        rows = np.rint(np.asarray(top, float) * (1 - t) + np.asarray(bottom, float) * t).astype(np.uint8)
        self.fill[y0:y1] = cv2.resize(rows[:, None, :], (self.size, y1 - y0), interpolation=cv2.INTER_NEAREST)

    def flood(self, rgb: RGB) -> None:
        """Fill the whole canvas with one color (no lines)."""
        cv2.rectangle(self.fill, (0, 0), (self.size, self.size), rgb, -1)

    def color_image(self) -> np.ndarray:
        """The fills with the lines laid over them in the line color."""
        line = np.empty_like(self.fill)
        cv2.rectangle(line, (0, 0), (self.size, self.size), self.line_rgb, -1)
        alpha = self.ink.astype(np.float32) * np.float32(1.0 / 255.0)
        return cv2.blendLinear(line, self.fill, alpha, 1.0 - alpha)

    def sketch_image(self) -> np.ndarray:
        """The lines alone, dark on white."""
        return cv2.cvtColor(cv2.bitwise_not(self.ink), cv2.COLOR_GRAY2RGB)


# --------------------------------------------------------------------------- scenery


def draw_sky(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """A blue gradient, deeper at the top."""
    top = SKY_TOP.sample(rng)
    hue, sat, _ = rgb_hsv(top)
    canvas.gradient(top, hsv_rgb(hue, sat * 0.3, 1.0), 0, horizon + canvas.size // 8)
    meta["sky_top_rgb"] = top


def draw_sun(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """A yellow disc with rays; its side decides where the light comes from."""
    s = canvas.size
    cx, cy, r = rng.uniform(0.1, 0.9) * s, rng.uniform(0.08, 0.22) * s, rng.uniform(0.04, 0.065) * s
    cy = min(cy, horizon - 1.6 * r)
    angles = np.radians(np.arange(0, 360, 360 / int(rng.integers(8, 13))) + rng.uniform(0, 40))
    for a in angles:
        d = np.array([np.cos(a), np.sin(a)])
        canvas.stroke(np.array([(cx, cy) + d * r * 1.35, (cx, cy) + d * r * 1.8]), DETAIL * 1.3)
    canvas.shape(ellipse(cx, cy, r, r, n=40), SUN.sample(rng), shade=0.12 * r)
    if cx > 0.5 * s:
        canvas.shadow_dir = np.array([-0.8, 0.6])
    meta["sun"] = "right" if cx > 0.5 * s else "left"


def draw_cloud(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, width: float) -> None:
    """A puffy white cloud: overlapping circles on a flat base."""
    n = int(rng.integers(3, 6))
    xs = np.linspace(-0.5, 0.5, n) * width * 0.8
    puffs = []
    for i, x in enumerate(xs):
        r = width * rng.uniform(0.14, 0.22) * (1.3 if 0 < i < n - 1 else 1.0)
        puffs.append(ellipse(cx + x, cy - r * 0.45, r, r * 0.9, n=28))
    puffs.append(ellipse(cx, cy, width * 0.42, width * 0.09, n=28))
    canvas.blob(puffs, CLOUD.sample(rng), shade=width * 0.035)


def draw_mountains(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """A blue-gray mountain range with white snow caps."""
    s = canvas.size
    n = int(rng.integers(2, 5))
    peaks_x = np.sort(rng.uniform(0.08, 0.92, n)) * s
    peaks_y = horizon - rng.uniform(0.12, 0.3, n) * s
    profile = [(-0.05 * s, horizon - 0.03 * s)]
    for i in range(n):
        profile.append((peaks_x[i], peaks_y[i]))
        next_x = peaks_x[i + 1] if i + 1 < n else 1.05 * s
        profile.append(((peaks_x[i] + next_x) / 2, horizon - rng.uniform(0.02, 0.08) * s))
    polygon = np.array(profile + [(1.05 * s, horizon + 0.05 * s), (-0.05 * s, horizon + 0.05 * s)])
    color = MOUNTAIN.sample(rng)
    canvas.shape(polygon, color, shade=0.04 * s)
    snow = CLOUD.sample(rng)
    for i in range(n):
        left, peak, right = profile[2 * i], profile[2 * i + 1], profile[2 * i + 2]
        depth = rng.uniform(0.22, 0.35)
        a, b = lerp(peak, left, depth), lerp(peak, right, depth)
        teeth = [lerp(a, b, t) + (0, (0.03 if k % 2 else -0.005) * s) for k, t in enumerate(np.linspace(0.2, 0.8, 4))]
        canvas.shape(np.array([peak, a, *teeth, b]), snow, shade=0.012 * s, width=DETAIL)
    meta["far"] = "mountains"


def draw_far_hills(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """Rounded pale-green hills at the horizon."""
    s = canvas.size
    xs = np.linspace(-0.1, 1.1, int(rng.integers(4, 7))) * s
    ys = horizon - rng.uniform(0.02, 0.12, len(xs)) * s
    top = spline(np.stack([xs, ys], axis=1), samples=10)
    polygon = np.vstack([top, [(1.1 * s, horizon + 0.05 * s), (-0.1 * s, horizon + 0.05 * s)]])
    green = GRASS.sample(rng)
    hue, sat, val = rgb_hsv(green)
    canvas.shape(polygon, hsv_rgb(hue + 15, sat * 0.55, min(1.0, val + 0.12)), shade=0.03 * s)
    meta["far"] = "hills"


def draw_ground(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """Grass from a gently rolling line to the bottom edge."""
    s = canvas.size
    xs = np.linspace(-0.1, 1.1, 5) * s
    ys = horizon + rng.uniform(-0.015, 0.025, len(xs)) * s
    top = spline(np.stack([xs, ys], axis=1), samples=10)
    polygon = np.vstack([top, [(1.1 * s, 1.1 * s), (-0.1 * s, 1.1 * s)]])
    grass = GRASS.sample(rng)
    canvas.shape(polygon, grass)
    meta["grass_rgb"] = grass


def draw_grass_tufts(canvas: Canvas, rng: np.random.Generator, horizon: int, count: int) -> None:
    """Small fans of grass blades on the ground, larger when nearer."""
    s = canvas.size
    for _ in range(count):
        base_y = rng.uniform(horizon + 0.04 * s, 0.98 * s)
        x, length = rng.uniform(0.02, 0.98) * s, (0.012 + 0.03 * (base_y - horizon) / (s - horizon)) * s
        for angle in (-30, 0, 30):
            tip = (x + length * np.sin(np.radians(angle)) * 0.8, base_y - length * np.cos(np.radians(angle)))
            bend = (x + 0.1 * length * np.sign(angle), base_y - 0.6 * length)
            canvas.stroke(bezier((x, base_y), bend, tip, 5), DETAIL)


def draw_path(canvas: Canvas, rng: np.random.Generator, horizon: int) -> None:
    """A tan dirt path winding from the bottom edge to the horizon."""
    s = canvas.size
    far_x, near_x = rng.uniform(0.3, 0.7) * s, rng.uniform(0.3, 0.7) * s
    bend = rng.uniform(-0.15, 0.15) * s
    far_y = horizon + 0.02 * s
    mid = ((far_x + near_x) / 2 + bend, (far_y + s) / 2)
    left = spline([(far_x - 0.01 * s, far_y), (mid[0] - 0.06 * s, mid[1]), (near_x - 0.16 * s, 1.05 * s)], samples=10)
    right = spline([(near_x + 0.16 * s, 1.05 * s), (mid[0] + 0.06 * s, mid[1]), (far_x + 0.01 * s, far_y)], samples=10)
    canvas.shape(np.vstack([left, right]), PATH.sample(rng), width=DETAIL * 1.4)


def draw_pond(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, rx: float) -> None:
    """Light-blue water with a few ripple lines."""
    canvas.shape(ellipse(cx, cy, rx, rx * 0.3, n=40), WATER.sample(rng), shade=0.06 * rx)
    for _ in range(int(rng.integers(2, 4))):
        x, y = cx + rng.uniform(-0.5, 0.5) * rx, cy + rng.uniform(-0.12, 0.12) * rx
        w = rng.uniform(0.15, 0.3) * rx
        canvas.stroke(bezier((x - w, y), (x, y - 0.05 * rx), (x + w, y)), DETAIL)


def draw_house(canvas: Canvas, rng: np.random.Generator, x: float, base: float, scale: float, meta: dict) -> None:
    """A cottage in an oblique view: front wall, shaded side wall, roof, door and windows."""
    w, h = 0.14 * scale * canvas.size * rng.uniform(0.85, 1.2), 0.09 * scale * canvas.size * rng.uniform(0.9, 1.2)
    side = np.sign(canvas.shadow_dir[0]) * w * 0.45  # the side wall is on the shadow side
    x0, x1, top = x - w / 2, x + w / 2, base - h
    near = x1 if side > 0 else x0
    lift = abs(side) * 0.35
    wall, roof_kind = WALL.sample(rng), ("gable", "hipped")[int(rng.integers(0, 2))]
    side_wall = np.array([(near, base), (near + side, base - lift), (near + side, top - lift), (near, top)])
    canvas.shape(side_wall, shadow_of(wall, 0.18))
    canvas.shape(rectangle(x0, top, x1, base), wall)
    roof = ROOF[roof_kind].sample(rng)
    eave, rise = 0.08 * w, h * rng.uniform(0.7, 0.95)
    if roof_kind == "gable":
        apex = np.array([x, top - rise])
        far_eave = (near + np.sign(side) * eave, top + 0.01 * h)
        offset = np.array([side, -lift])
        canvas.shape(np.array([apex, far_eave, far_eave + offset, apex + offset]), roof)
        canvas.shape(np.array([(x0 - eave * 0.3, top), apex, (x1 + eave * 0.3, top)]), wall)
        canvas.stroke(np.array([(x0 - eave, top + 0.02 * h), apex, (x1 + eave, top + 0.02 * h)]), OUTLINE * 1.4)
    else:
        inset = 0.3 * w
        eave_y, ridge_y = top + 0.05 * h, top - rise * 0.8
        front = np.array([(x0 - eave, eave_y), (x0 + inset, ridge_y), (x1 - inset, ridge_y), (x1 + eave, eave_y)])
        eave_corner, ridge_end = (front[3], front[2]) if side > 0 else (front[0], front[1])
        offset = np.array([side, -lift])
        roof_side = np.array([ridge_end, eave_corner, eave_corner + offset, ridge_end + offset])
        canvas.shape(roof_side, shadow_of(roof, 0.15))
        canvas.shape(front, roof)
    draw_house_openings(canvas, rng, x0, x1, top, base)
    meta.setdefault("roofs", []).append(roof_kind)


def draw_house_openings(canvas: Canvas, rng: np.random.Generator, x0: float, x1: float, top: float,
                        base: float) -> None:
    """A brown door and pale-blue cross-barred windows on a front wall."""
    w, h = x1 - x0, base - top
    door_x = x0 + w * rng.uniform(0.3, 0.7)
    canvas.shape(trapezoid(door_x, base, 0.1 * w, 0.1 * w, 0.55 * h), DOOR.sample(rng), width=DETAIL * 1.3)
    glass = WINDOW.sample(rng)
    for wx in (x0 + 0.16 * w, x1 - 0.16 * w):
        if abs(wx - door_x) < 0.25 * w:
            continue
        ww, wy = 0.08 * w, top + 0.35 * h
        canvas.shape(rectangle(wx - ww, wy - ww, wx + ww, wy + ww), glass, width=DETAIL * 1.3)
        canvas.stroke(np.array([(wx - ww, wy), (wx + ww, wy)]), DETAIL * 0.8)
        canvas.stroke(np.array([(wx, wy - ww), (wx, wy + ww)]), DETAIL * 0.8)


def draw_round_tree(canvas: Canvas, rng: np.random.Generator, x: float, base: float, scale: float) -> None:
    """A brown trunk under a leafy green canopy."""
    h = 0.2 * scale * canvas.size * rng.uniform(0.8, 1.2)
    tw = 0.06 * h
    canvas.shape(trapezoid(x, base, tw * 1.3, tw, 0.5 * h), TRUNK.sample(rng), width=DETAIL * 1.4)
    cy, r = base - 0.68 * h, 0.3 * h
    top_x = rng.uniform(-0.3, 0.3)
    layout = ((0, -0.35, 0.8), (-0.55, 0.05, 0.7), (0.55, 0.05, 0.7), (0, 0.25, 0.75), (top_x, -0.7, 0.55))
    puffs = [ellipse(x + dx * r, cy + dy * r, r * k, r * k, n=28) for dx, dy, k in layout]
    canvas.blob(puffs, LEAVES.sample(rng), shade=0.12 * r)


def draw_pine(canvas: Canvas, rng: np.random.Generator, x: float, base: float, scale: float) -> None:
    """A dark-green pine: a short trunk and three stacked tiers."""
    h = 0.24 * scale * canvas.size * rng.uniform(0.8, 1.2)
    tw = 0.04 * h
    canvas.shape(trapezoid(x, base, tw, tw, 0.25 * h), TRUNK.sample(rng), width=DETAIL * 1.4)
    color = PINE.sample(rng)
    for tier in range(3):
        bottom = base - (0.15 + 0.25 * tier) * h
        half = (0.32 - 0.07 * tier) * h
        apex = (x, bottom - 0.42 * h)
        left = bezier((x - half, bottom), (x - half * 0.3, bottom - 0.15 * h), apex, 6)
        right = bezier(apex, (x + half * 0.3, bottom - 0.15 * h), (x + half, bottom), 6)
        hem = bezier((x + half, bottom), (x, bottom + 0.06 * h), (x - half, bottom), 6)
        canvas.shape(np.vstack([left, right, hem]), color, shade=0.07 * h)


def draw_landscape(canvas: Canvas, rng: np.random.Generator, meta: dict) -> None:
    """A full landscape: sky, far range, grass, path or pond, houses and trees by depth."""
    s = canvas.size
    horizon = int(rng.uniform(0.45, 0.6) * s)
    draw_sky(canvas, rng, horizon, meta)
    if rng.random() < 0.6:
        draw_sun(canvas, rng, horizon, meta)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.1, 0.9) * s, rng.uniform(0.1, 0.35) * horizon + 0.05 * s
        draw_cloud(canvas, rng, cx, cy, rng.uniform(0.15, 0.3) * s)
    (draw_mountains if rng.random() < 0.5 else draw_far_hills)(canvas, rng, horizon, meta)
    draw_ground(canvas, rng, horizon, meta)
    draw_grass_tufts(canvas, rng, horizon, int(rng.integers(4, 12)))
    if rng.random() < 0.5:
        draw_path(canvas, rng, horizon)
    elif rng.random() < 0.6:
        draw_pond(canvas, rng, rng.uniform(0.25, 0.75) * s, rng.uniform(0.7, 0.85) * s, rng.uniform(0.12, 0.22) * s)
    draw_scenery_objects(canvas, rng, horizon, meta)


def draw_scenery_objects(canvas: Canvas, rng: np.random.Generator, horizon: int, meta: dict) -> None:
    """Houses and trees on the grass, far ones first, bigger when nearer."""
    s = canvas.size
    kinds = ["house"] * int(rng.integers(0, 3)) + ["tree"] * int(rng.integers(1, 5))
    bases = rng.uniform(horizon + 0.03 * s, 0.97 * s, len(kinds))
    xs = rng.uniform(0.05, 0.95, len(kinds)) * s
    meta["trees"] = []
    for i in np.argsort(bases):
        scale = 0.5 + 1.1 * (bases[i] - horizon) / (s - horizon)
        if kinds[i] == "house":
            draw_house(canvas, rng, xs[i], bases[i], scale, meta)
        elif rng.random() < 0.5:
            draw_round_tree(canvas, rng, xs[i], bases[i], scale)
            meta["trees"].append("round")
        else:
            draw_pine(canvas, rng, xs[i], bases[i], scale)
            meta["trees"].append("pine")


def draw_portrait_background(canvas: Canvas, rng: np.random.Generator, meta: dict) -> None:
    """Behind a character: plain near-white, pale pink with sparkles, or an outdoor view."""
    s = canvas.size
    kind = ("plain", "sparkles", "outdoor")[int(rng.choice(3, p=(0.3, 0.25, 0.45)))]
    meta["background"] = kind
    if kind == "plain":
        canvas.flood(BACKGROUND_PLAIN.sample(rng))
    elif kind == "sparkles":
        canvas.flood(BACKGROUND_SPARKLE.sample(rng))
        for _ in range(int(rng.integers(5, 11))):
            cx, cy = rng.uniform(0.03, 0.97) * s, rng.uniform(0.03, 0.9) * s
            draw_sparkle(canvas, rng, cx, cy, rng.uniform(0.02, 0.05) * s)
    else:
        horizon = int(rng.uniform(0.55, 0.8) * s)
        draw_sky(canvas, rng, horizon, meta)
        for _ in range(int(rng.integers(1, 3))):
            cx, cy = rng.uniform(0.05, 0.95) * s, rng.uniform(0.08, 0.3) * s
            draw_cloud(canvas, rng, cx, cy, rng.uniform(0.15, 0.28) * s)
        (draw_mountains if rng.random() < 0.4 else draw_far_hills)(canvas, rng, horizon, meta)
        draw_ground(canvas, rng, horizon, meta)
        for x in rng.uniform(0.0, 1.0, int(rng.integers(0, 3))) * s:
            draw_round_tree(canvas, rng, x, horizon + rng.uniform(0.02, 0.1) * s, 0.8)


def draw_sparkle(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    """A four-pointed star."""
    t = np.radians(np.arange(0, 360, 45) + rng.uniform(-10, 10))
    radii = np.where(np.arange(8) % 2 == 0, r, r * 0.28)
    star = np.stack([cx + radii * np.cos(t), cy + radii * np.sin(t)], axis=1)
    canvas.shape(star, SPARKLE.sample(rng), width=DETAIL)


# --------------------------------------------------------------------------- character design


@dataclass
class CharacterDesign:
    """Everything chosen about a character before drawing it (also returned as metadata)."""

    hair_style: str
    hair_rgb: RGB
    eye_rgb: RGB
    skin_rgb: RGB
    collar: str
    clothes_rgb: RGB
    accessory: str
    eyes: str
    mouth: str
    blush: bool


def design_character(rng: np.random.Generator) -> CharacterDesign:
    """Pick style and colors; the colors follow the regularities in the module docstring."""
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    hair = HAIR[style].sample(rng)
    hair_hue = rgb_hsv(hair)[0]
    eye = hsv_rgb(hair_hue + rng.uniform(-8, 8), rng.uniform(0.6, 0.85), rng.uniform(0.62, 0.85))
    skin = (SKIN_TAN if rng.random() < 0.15 else SKIN_LIGHT).sample(rng)
    collar = COLLARS[int(rng.integers(len(COLLARS)))]
    accessory = ACCESSORIES[int(rng.choice(len(ACCESSORIES), p=ACCESSORY_ODDS))]
    return CharacterDesign(
        hair_style=style, hair_rgb=hair, eye_rgb=eye, skin_rgb=skin, collar=collar,
        clothes_rgb=CLOTHES[collar].sample(rng), accessory=accessory,
        eyes="closed" if rng.random() < 0.12 else "open",
        mouth=("smile", "open", "flat")[int(rng.choice(3, p=(0.5, 0.3, 0.2)))],
        blush=bool(rng.random() < 0.5),
    )


def random_pose(rng: np.random.Generator, size: int) -> Pose:
    """Where the head sits: size, position, a slight tilt and which way it faces."""
    radius = rng.uniform(0.15, 0.2) * size
    center = (rng.uniform(0.4, 0.6) * size, rng.uniform(0.3, 0.4) * size)
    return Pose(center, radius, rng.uniform(-8, 8), bool(rng.random() < 0.5))


# --------------------------------------------------------------------------- hair geometry (head-local)

# Bangs per style: strand count range, tip height range, notch height, sideways sweep.
BANGS = {
    "spiky": ((4, 6), (-0.02, 0.14), -0.62, 0.16),
    "long": ((9, 12), (-0.06, -0.02), -0.14, 0.0),
    "twintails": ((5, 7), (-0.06, 0.1), -0.45, 0.07),
    "bob": ((6, 9), (-0.08, 0.02), -0.32, 0.04),
    "ponytail": ((3, 5), (-0.02, 0.14), -0.55, 0.25),
    "short": ((5, 7), (-0.12, 0.02), -0.45, 0.1),
}
SIDE_LOCK_END = {"spiky": 0.5, "long": 2.2, "twintails": 0.95, "bob": 1.0, "ponytail": 0.85, "short": 0.45}
SKULL_CENTER, SKULL_RADIUS = np.array([0.0, -0.15]), 1.13


def skull_outline(style: str, rng: np.random.Generator) -> np.ndarray:
    """The hair mass behind the face (its lower part is hidden by the face)."""
    if style == "spiky":
        return spiky_skull(rng)
    side_y = {"long": 0.7, "twintails": 0.55, "bob": 0.85, "ponytail": 0.5, "short": 0.35}[style]
    width = 1.24 if style == "bob" else 1.16
    half = [(0.0, -1.3), (0.58, -1.17), (1.06, -0.68), (width, 0.15), (width * 0.99, side_y)]
    if style == "bob":
        half += [(1.05, side_y + 0.2), (0.8, side_y + 0.1)]
    else:
        half += [(0.95, side_y + 0.05)]
    half = [np.add(p, rng.uniform(-0.025, 0.025, 2)) for p in half]
    right = np.array(half)
    points = np.vstack([mirror_x(right[::-1])[:-1], right, [(0.0, 0.55)]])
    return spline(points, closed=True, samples=5)


def spiky_skull(rng: np.random.Generator) -> np.ndarray:
    """A hair mass with big spikes sticking outward."""
    angles = np.linspace(150, 390, int(rng.integers(7, 10)) * 2 + 1)
    points = []
    for i, a in enumerate(angles):
        r = SKULL_RADIUS * (rng.uniform(1.3, 1.6) if i % 2 else rng.uniform(0.98, 1.04))
        # Spike tips lean downward on the sides, like wind-swept hair.
        tilt = 12 * np.cos(np.radians(a)) if i % 2 else 0.0
        t = np.radians(a + tilt)
        points.append(SKULL_CENTER + r * np.array([np.cos(t), np.sin(t)]))
    # Slightly bulging edges between spike tips and roots.
    edges = [bezier(a, lerp(a, b, 0.5) * 1.04, b, 4)[:-1] for a, b in zip(points[:-1], points[1:])]
    return np.vstack(edges + [[points[-1]], [(0.7, 0.5), (-0.7, 0.5)]])


def bangs_outline(style: str, rng: np.random.Generator) -> np.ndarray:
    """Front hair: the skull arc over the top, then pointed strands across the forehead."""
    counts, tip_range, notch_y, sweep = BANGS[style]
    n = int(rng.integers(*counts))
    angles = np.radians(np.linspace(172, 368, 24))
    top = SKULL_CENTER + SKULL_RADIUS * 1.01 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    notch_x = np.linspace(1.06, -1.06, n + 1) + np.r_[0, rng.uniform(-0.05, 0.05, n - 1), 0]
    notch = np.stack([notch_x, np.full(n + 1, notch_y) + rng.uniform(-0.06, 0.06, n + 1)], axis=1)
    notch[[0, -1], 1] = 0.15
    edges = []
    direction = 1.0 if rng.random() < 0.5 else -1.0
    for k in range(n):
        tip = np.array([(notch[k, 0] + notch[k + 1, 0]) / 2 + direction * sweep, rng.uniform(*tip_range)])
        bend = 0.12 * direction * (notch[k, 0] - notch[k + 1, 0])
        edges.append(bezier(notch[k], lerp(notch[k], tip, 0.55) + (bend, 0), tip, 6))
        edges.append(bezier(tip, lerp(tip, notch[k + 1], 0.45) + (bend, 0), notch[k + 1], 6)[1:])
    return np.vstack([top] + edges)


def side_lock(style: str, rng: np.random.Generator) -> np.ndarray:
    """A strand hanging in front of the left ear (mirror it for the right)."""
    end = SIDE_LOCK_END[style] + rng.uniform(-0.05, 0.05)
    spread = 0.12 if style == "spiky" else 0.0
    outer = spline([(-1.14, -0.35), (-1.17, 0.2), (-1.12 - spread, end * 0.7), (-1.0 - spread, end)], samples=5)
    inner = spline([(-1.0 - spread, end), (-0.9, end * 0.6), (-0.83, 0.15), (-0.72, -0.35)], samples=5)
    return np.vstack([outer, inner[1:]])


def long_back_hair(rng: np.random.Generator) -> np.ndarray:
    """A curtain of straight hair from the crown down past the shoulders."""
    half = [(0.0, -1.3), (0.9, -0.95), (1.22, -0.1), (1.35, 1.0), (1.5, 2.5), (1.55, 6.0)]
    half = [np.add(p, rng.uniform(-0.03, 0.03, 2)) for p in half]
    right = np.array(half)
    return spline(np.vstack([mirror_x(right[::-1])[:-1], right]), closed=True, samples=5)


def twin_tail(rng: np.random.Generator) -> np.ndarray:
    """The left twin tail, a long pointed lock tied at the side of the head."""
    length = rng.uniform(2.3, 3.0)
    swing = rng.uniform(1.8, 2.05)
    tip = (-1.4 - rng.uniform(0, 0.2), length)
    outer = spline([(-0.85, -1.0), (-1.5, -0.8), (-swing, 0.1), (-swing, 1.3), tip], samples=6)
    inner = spline([tip, (-1.35, 1.6), (-1.38, 0.6), (-1.2, -0.2), (-0.95, -0.55)], samples=6)
    return np.vstack([outer, inner[1:]])


def ponytail(rng: np.random.Generator) -> np.ndarray:
    """A ponytail sweeping out from behind the head on the right."""
    tip = (1.5 + rng.uniform(-0.1, 0.2), 1.6 + rng.uniform(-0.2, 0.3))
    outer = spline([(0.7, -1.05), (1.45, -1.15), (1.95, -0.45), (1.95, 0.7), tip], samples=6)
    inner = spline([tip, (1.5, 0.6), (1.38, -0.25), (0.95, -0.6)], samples=6)
    return np.vstack([outer, inner[1:]])


def crown_strands(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Curved strand lines running from the crown toward the sides."""
    lines = []
    for x in rng.uniform(-1.0, 1.0, count):
        start = (x * 0.35, -1.15 - 0.05 * rng.random())
        lines.append(bezier(start, (x * 0.95, -0.95), (x * 1.05, -0.45 - 0.2 * rng.random()), 6))
    return lines


def highlight_band(rng: np.random.Generator) -> np.ndarray:
    """The zigzag 'angel ring' highlight across the top of the hair."""
    y = rng.uniform(-0.88, -0.72)
    xs = np.linspace(-1.1, 1.1, 12)
    lower = np.stack([xs, y + np.where(np.arange(12) % 2 == 0, 0.0, 0.14)], axis=1)
    upper = np.stack([xs[::-1], np.full(12, y - 0.06)], axis=1)
    return np.vstack([lower, upper])


# --------------------------------------------------------------------------- face and body geometry (head-local)


def face_outline() -> np.ndarray:
    """The face: wide at the temples, narrowing to a soft pointed chin."""
    right = [(0.0, -1.12), (0.7, -0.95), (0.93, -0.35), (0.93, 0.15), (0.86, 0.48), (0.6, 0.8), (0.28, 0.99)]
    return spline(np.vstack([right, [(0.0, 1.07)], mirror_x(np.array(right[::-1]))]), closed=True, samples=5)


def neck_outline() -> np.ndarray:
    """Neck and upper chest (the chest is mostly hidden by clothes)."""
    left = np.array([(-0.3, 0.55), (-0.31, 1.15), (-0.4, 1.55), (-0.8, 2.8)])
    return np.vstack([left, mirror_x(left[::-1])])


def torso_outline(neckline: np.ndarray) -> np.ndarray:
    """Shoulders and chest down past the bottom edge, with the given neckline (left to right)."""
    right = spline([(0.38, 1.42), (0.85, 1.6), (1.5, 1.83), (1.9, 2.35), (2.05, 3.2), (2.1, 7.0)], samples=6)
    return np.vstack([mirror_x(right[::-1]), neckline, right])


def neckline_for(collar: str) -> np.ndarray:
    """The neckline curve, left to right, for a collar type."""
    if collar in ("sailor", "blazer"):
        depth = 2.25 if collar == "sailor" else 2.65
        return np.array([(-0.38, 1.42), (0.0, depth), (0.38, 1.42)])
    dip = {"tshirt": 1.95, "hoodie": 1.9, "turtleneck": 1.55}[collar]
    return bezier((-0.38, 1.42), (0.0, dip), (0.38, 1.42), 10)


# --------------------------------------------------------------------------- character drawing


class CharacterPainter:
    """Draws one character on a canvas, back to front, in head-local coordinates."""

    def __init__(self, canvas: Canvas, rng: np.random.Generator, design: CharacterDesign, pose: Pose):
        self.canvas, self.rng, self.design, self.pose = canvas, rng, design, pose
        self.r = pose.radius

    def shape(self, local: np.ndarray, rgb: RGB, shade: float = 0.0, width: float = OUTLINE) -> np.ndarray:
        """Draw a head-local shape (shade in head radii); returns its pixel polygon."""
        polygon = self.pose(local)
        self.canvas.shape(polygon, rgb, shade * self.r, width)
        return polygon

    def stroke(self, local: np.ndarray, width: float = DETAIL, closed: bool = False) -> None:
        """Draw a head-local line."""
        self.canvas.stroke(self.pose(local), width, closed)

    def draw(self) -> None:
        """The whole character, back to front."""
        self.draw_back_hair()
        if self.design.collar == "hoodie":
            self.draw_hood()
        self.draw_neck()
        self.draw_body()
        self.draw_collar()
        self.draw_skull_hair()
        self.draw_ears()
        face = self.shape(face_outline(), self.design.skin_rgb, shade=0.09)
        bangs = bangs_outline(self.design.hair_style, self.rng)
        self.canvas.paint([self.pose(bangs + (0.03, 0.13))], shadow_of(self.design.skin_rgb), clip=[face])
        self.draw_face_features()
        self.draw_front_hair(bangs)
        self.draw_accessory()

    # ---- hair

    def draw_back_hair(self) -> None:
        """Hair behind the body: long curtain, twin tails or ponytail; cat ears."""
        style, hair = self.design.hair_style, self.design.hair_rgb
        if style == "long":
            self.shape(long_back_hair(self.rng), hair, shade=0.12)
            for x in self.rng.uniform(1.0, 1.4, 4) * self.rng.choice([-1, 1], 4):
                self.stroke(bezier((x * 0.95, 0.6), (x * 1.05, 1.4), (x * 1.1, 2.3), 6))
        elif style == "twintails":
            for side in (1, -1):
                tail = twin_tail(self.rng)
                self.shape(tail * (side, 1), hair, shade=0.14)
                self.stroke(bezier((-1.3 * side, -0.3), (-1.75 * side, 0.6), (-1.6 * side, 1.7), 6))
        elif style == "ponytail":
            self.shape(ponytail(self.rng), hair, shade=0.14)
            self.stroke(bezier((1.2, -0.7), (1.75, -0.2), (1.6, 1.0), 6))
        if self.design.accessory == "cat_ears":
            self.draw_cat_ears()

    def draw_cat_ears(self) -> None:
        """Hair-colored cat ears with pink insides, rooted in the hair."""
        for side in (1, -1):
            outer = np.array([(-0.95, -0.55), (-1.05, -1.55), (-0.3, -1.15)]) * (side, 1)
            inner = np.array([(-0.85, -0.75), (-0.97, -1.38), (-0.45, -1.12)]) * (side, 1)
            self.shape(outer, self.design.hair_rgb, shade=0.08)
            self.shape(inner, PINK.sample(self.rng), width=DETAIL)

    def draw_skull_hair(self) -> None:
        """The hair mass around the head, with strand lines and a highlight."""
        skull = self.shape(skull_outline(self.design.hair_style, self.rng), self.design.hair_rgb, shade=0.12)
        for line in crown_strands(self.rng, 3):
            self.stroke(line)
        self.canvas.paint([self.pose(highlight_band(self.rng))], highlight_of(self.design.hair_rgb), clip=[skull])

    def draw_front_hair(self, bangs: np.ndarray) -> None:
        """Side locks, then bangs with a highlight and strand lines; twin-tail ties."""
        hair = self.design.hair_rgb
        lock = side_lock(self.design.hair_style, self.rng)
        for side in (1, -1):
            self.shape(lock * (side, 1), hair, shade=0.07)
        front = self.shape(bangs, hair, shade=0.1)
        self.canvas.paint([self.pose(highlight_band(self.rng))], highlight_of(hair), clip=[front])
        for x in self.rng.uniform(-0.7, 0.7, 2):
            self.stroke(bezier((x * 0.6, -1.1), (x, -0.7), (x * 1.1, -0.45), 5))
        if self.design.hair_style == "twintails":
            tie = RED.sample(self.rng)
            for side in (1, -1):
                self.shape(ellipse(-1.02 * side, -0.78, 0.13, 0.13, n=20), tie, shade=0.04)

    # ---- body

    def draw_hood(self) -> None:
        """The hood lying behind the neck (its inside in shadow)."""
        left = np.array([(-0.55, 1.0), (-0.8, 1.3), (-0.72, 1.7)])
        hood = spline(np.vstack([left, [(0.0, 1.95)], mirror_x(left[::-1]), [(0.0, 1.2)]]), closed=True, samples=6)
        self.shape(hood, shadow_of(self.design.clothes_rgb, 0.25))
        for side in (1, -1):  # the rim of the hood, folded over
            self.stroke(bezier((0.42 * side, 1.08), (0.66 * side, 1.3), (0.6 * side, 1.62), 8))

    def draw_neck(self) -> None:
        """Neck and chest with the chin's shadow on the neck."""
        neck = self.shape(neck_outline(), self.design.skin_rgb)
        self.canvas.paint([self.pose(face_outline() + (0.0, 0.28))], shadow_of(self.design.skin_rgb), clip=[neck])

    def draw_body(self) -> None:
        """Shoulders in the clothes color, with arm lines."""
        self.shape(torso_outline(neckline_for(self.design.collar)), self.design.clothes_rgb, shade=0.22)
        for side in (1, -1):
            self.stroke(bezier((1.62 * side, 2.1), (1.6 * side, 2.8), (1.68 * side, 4.0), 8) , DETAIL)

    def draw_collar(self) -> None:
        """The collar details that identify the clothes."""
        {"sailor": self.draw_sailor_collar, "blazer": self.draw_blazer, "tshirt": self.draw_tshirt_rib,
         "hoodie": self.draw_drawstrings, "turtleneck": self.draw_turtleneck}[self.design.collar]()

    def draw_sailor_collar(self) -> None:
        """A navy sailor collar with a white stripe and a red scarf."""
        a, b, apex, d = np.array([-0.38, 1.42]), np.array([-1.5, 1.82]), np.array([0.0, 2.62]), np.array([0.0, 2.25])
        collar = np.array([a, b, apex, mirror_x(b), mirror_x(a), d])
        self.shape(collar, SAILOR_COLLAR.sample(self.rng), shade=0.08)
        line_1 = np.array([lerp(b, a, 0.18), lerp(apex, d, 0.18)])
        line_2 = np.array([lerp(b, a, 0.32), lerp(apex, d, 0.32)])
        stripe = np.vstack([line_1, mirror_x(line_1[::-1]), mirror_x(line_2), line_2[::-1]])
        self.shape(stripe, WHITE.sample(self.rng), width=DETAIL)
        scarf = RED.sample(self.rng)
        for side in (1, -1):
            self.shape(np.array([(0.0, 2.5), (0.3 * side, 3.15), (0.12 * side, 3.2)]), scarf, shade=0.05)
        self.shape(ellipse(0.0, 2.55, 0.17, 0.12, n=20), scarf, shade=0.04)

    def draw_blazer(self) -> None:
        """White shirt and red tie in a deep V, framed by lapels."""
        self.shape(np.array([(-0.4, 1.4), (0.4, 1.4), (0.06, 2.7), (-0.06, 2.7)]), WHITE.sample(self.rng))
        tie = RED.sample(self.rng)
        self.shape(np.array([(-0.1, 1.75), (0.1, 1.75), (0.16, 2.75), (-0.16, 2.75)]), tie, shade=0.05)
        self.shape(np.array([(-0.12, 1.55), (0.12, 1.55), (0.08, 1.78), (-0.08, 1.78)]), tie)
        shirt = WHITE.sample(self.rng)
        for side in (1, -1):
            self.shape(np.array([(-0.4, 1.38), (-0.02, 1.58), (-0.25, 1.85)]) * (side, 1), shirt, width=DETAIL)
            lapel = np.array([(-0.4, 1.42), (-0.62, 1.95), (-0.5, 2.05), (-0.05, 2.72), (-0.3, 2.0)]) * (side, 1)
            self.shape(lapel, self.design.clothes_rgb, shade=0.05)

    def draw_tshirt_rib(self) -> None:
        """The ribbed band along a round neckline."""
        self.stroke(bezier((-0.42, 1.5), (0.0, 2.08), (0.42, 1.5), 10))

    def draw_drawstrings(self) -> None:
        """Two hoodie drawstrings with white tips."""
        tip = WHITE.sample(self.rng)
        for side in (1, -1):
            x = 0.2 * side
            end = 2.35 + 0.15 * self.rng.random()
            self.stroke(bezier((x, 1.68), (x * 1.2, 2.0), (x * 1.1, end), 6), DETAIL * 1.2)
            self.shape(rectangle(x * 1.1 - 0.04, end, x * 1.1 + 0.04, end + 0.14), tip, width=DETAIL)

    def draw_turtleneck(self) -> None:
        """A tall ribbed collar around the neck."""
        tube = np.vstack([[(-0.4, 1.05), (0.4, 1.05)], bezier((0.45, 1.5), (0.0, 1.68), (-0.45, 1.5), 10)])
        self.shape(tube, self.design.clothes_rgb, shade=0.1)
        for x in np.linspace(-0.3, 0.3, 6):
            self.stroke(np.array([(x, 1.12), (x * 1.1, 1.5 + 0.12 * (1 - (x / 0.45) ** 2))]), DETAIL * 0.8)

    # ---- face

    def draw_ears(self) -> None:
        """Ears on both sides of the face."""
        for side in (1, -1):
            self.shape(ellipse(0.9 * side, 0.22, 0.15, 0.25, n=24, angle=-10 * side), self.design.skin_rgb, shade=0.04)
            start = -90 if side > 0 else 90  # the inner fold faces the head
            self.stroke(ellipse(0.9 * side, 0.22, 0.07, 0.14, start=start, end=start + 180, n=10))

    def draw_face_features(self) -> None:
        """Eyes, eyebrows, nose, mouth and blush."""
        for side in (1, -1):
            center = np.array([0.42 * side, 0.27])
            if self.design.eyes == "open":
                self.draw_open_eye(center, side)
            else:
                self.draw_closed_eye(center, side)
            brow = center + np.array([(-0.2 * side, -0.38), (0.02 * side, -0.48), (0.24 * side, -0.36)])
            self.stroke(bezier(*brow, 8), DETAIL * 1.3)
        if self.design.blush:
            self.draw_blush()
        self.stroke(np.array([(0.02, 0.56), (0.05, 0.6), (0.0, 0.62)]), DETAIL)
        self.draw_mouth()

    def draw_open_eye(self, center: np.ndarray, side: int) -> None:
        """A big anime eye: white, iris with shadow, pupil, highlights, heavy upper lashes."""
        w, h = 0.24, 0.22  # half extents

        def to_px(points):
            """Eye-local (outer corner at +x, half extents 1) to head-local coordinates."""
            return center + np.asarray(points, float) * (side, 1) * (w, h)

        upper = spline(to_px([(-1.0, 0.1), (-0.5, -0.8), (0.3, -1.0), (1.1, -0.35)]), samples=5)
        lower = spline(to_px([(1.05, -0.1), (0.6, 0.75), (-0.2, 0.95), (-0.95, 0.35)]), samples=5)
        white = self.shape(np.vstack([upper, lower]), EYE_WHITE.sample(self.rng), width=DETAIL * 0.8)
        iris_rgb = self.design.eye_rgb
        iris = self.pose(ellipse(*to_px((0.05, 0.05)), 0.62 * w, 0.92 * h, n=28))
        self.canvas.paint([iris], iris_rgb, clip=[white])
        lid_shadow = self.pose(ellipse(*to_px((0.05, -0.45)), 0.7 * w, 0.6 * h, n=24))
        self.canvas.paint([lid_shadow], shadow_of(iris_rgb, 0.3), clip=[iris])
        pupil = self.pose(ellipse(*to_px((0.05, 0.1)), 0.28 * w, 0.45 * h, n=20))
        self.canvas.paint([pupil], shadow_of(iris_rgb, 0.55), clip=[iris])
        self.canvas.stroke(iris, DETAIL * 0.8, closed=True)
        glint = self.pose(ellipse(*to_px((-0.25, -0.25)), 0.2 * w, 0.2 * w, n=16))
        self.canvas.shape(glint, (255, 255, 255), width=DETAIL * 0.6)
        lash_top = spline(to_px([(-1.05, 0.05), (-0.5, -1.05), (0.35, -1.3), (1.25, -0.55)]), samples=5)
        self.canvas.ink_fill(self.pose(np.vstack([lash_top, upper[::-1]])))
        self.stroke(lower[: len(lower) // 2], DETAIL * 1.1)

    def draw_closed_eye(self, center: np.ndarray, side: int) -> None:
        """A happy closed eye: a thick upward arc."""
        arc = bezier(center + (-0.22 * side, 0.08), center + (0.0, -0.2), center + (0.24 * side, 0.06), 10)
        self.stroke(arc, OUTLINE * 1.4)

    def draw_blush(self) -> None:
        """Pink cheeks under short hatching strokes."""
        pink = BLUSH.sample(self.rng)
        for side in (1, -1):
            cx, cy = 0.5 * side, 0.58
            self.canvas.paint([self.pose(ellipse(cx, cy, 0.17, 0.07, n=20))], pink)
            for k in (-1, 0, 1):
                x = cx + 0.08 * k
                self.stroke(np.array([(x + 0.03, cy - 0.05), (x - 0.03, cy + 0.05)]), DETAIL * 0.8)

    def draw_mouth(self) -> None:
        """A smile, a flat line, or an open mouth with a tongue."""
        if self.design.mouth == "open":
            mouth = bezier((0.13, 0.76), (0.0, 0.98), (-0.13, 0.76), 12)  # closed by the straight top edge
            pixels = self.shape(mouth, MOUTH.sample(self.rng), width=DETAIL * 1.2)
            self.canvas.paint([self.pose(ellipse(0.0, 0.9, 0.08, 0.05, n=16))], PINK.sample(self.rng), clip=[pixels])
        elif self.design.mouth == "smile":
            self.stroke(bezier((-0.1, 0.77), (0.0, 0.84), (0.1, 0.77), 8), DETAIL * 1.2)
        else:
            self.stroke(np.array([(-0.07, 0.8), (0.07, 0.8)]), DETAIL * 1.2)

    # ---- accessories

    def draw_accessory(self) -> None:
        """The optional accessory (cat ears are drawn with the back hair)."""
        draw = {"bow": self.draw_bow, "clip": self.draw_clip, "flower": self.draw_flower, "glasses": self.draw_glasses}
        if self.design.accessory in draw:
            draw[self.design.accessory]()

    def draw_bow(self) -> None:
        """A red bow on top of the head."""
        center = np.array([0.55, -1.05])
        red = RED.sample(self.rng)
        tilt = self.rng.uniform(-20, 20)
        for side in (1, -1):
            loop_points = np.array([(0.0, 0.0), (0.38, -0.28), (0.5, 0.0), (0.38, 0.25)]) * (side, 1)
            loop = spline(loop_points, closed=True, samples=5)
            self.shape(rotate(loop, tilt) + center, red, shade=0.05)
        self.shape(ellipse(*center, 0.09, 0.09, n=16), red, shade=0.02)

    def draw_clip(self) -> None:
        """Two yellow hair-clip bars on the bangs."""
        yellow = YELLOW.sample(self.rng)
        for k in (0, 1):
            bar = np.array([(-0.3, -0.04), (0.3, -0.04), (0.3, 0.04), (-0.3, 0.04)])
            self.shape(rotate(bar, -35) + (-0.65 + 0.12 * k, -0.55 + 0.1 * k), yellow, width=DETAIL * 1.2)

    def draw_flower(self) -> None:
        """A pink five-petal flower ornament with a yellow center."""
        center = np.array([0.72, -0.78])
        pink = PINK.sample(self.rng)
        for angle in np.arange(0, 360, 72) + self.rng.uniform(0, 72):
            petal = ellipse(0.16, 0.0, 0.14, 0.09, n=16)
            self.shape(rotate(petal, angle) + center, pink, shade=0.03, width=DETAIL * 1.2)
        self.shape(ellipse(*center, 0.07, 0.07, n=14), YELLOW.sample(self.rng), width=DETAIL)

    def draw_glasses(self) -> None:
        """Round-cornered frames over the eyes (lines only)."""
        for side in (1, -1):
            corners = [(0.2, 0.12), (0.42, 0.05), (0.66, 0.12), (0.68, 0.4), (0.42, 0.5), (0.18, 0.4)]
            lens = spline(corners, closed=True, samples=4)
            self.stroke(lens * (side, 1), DETAIL * 1.4, closed=True)
            self.stroke(np.array([(0.68 * side, 0.16), (0.93 * side, 0.1)]), DETAIL * 1.4)
        self.stroke(bezier((-0.2, 0.16), (0.0, 0.1), (0.2, 0.16), 6), DETAIL * 1.4)


# --------------------------------------------------------------------------- rendering API


def _render(seed: int, height: int) -> tuple[Canvas, dict[str, Any]]:
    """Draw one illustration; the canvas holds its fills and lines."""
    if height < 32:
        raise ValueError(f"height must be at least 32 pixels, got {height}")
    rng = np.random.default_rng(seed)
    canvas = Canvas(int(height), rng)
    meta: dict[str, Any] = {"seed": int(seed)}
    if rng.random() < 0.7:
        meta["kind"] = "portrait"
        draw_portrait_background(canvas, rng, meta)
        design = design_character(rng)
        CharacterPainter(canvas, rng, design, random_pose(rng, canvas.size)).draw()
        meta.update(asdict(design))
    else:
        meta["kind"] = "landscape"
        draw_landscape(canvas, rng, meta)
    meta["line_rgb"] = canvas.line_rgb
    return canvas, meta


def render_color_and_sketch(seed: int, height: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The colored illustration and its sketch, each (height, height, 3) uint8 RGB."""
    canvas, _ = _render(seed, height)
    return canvas.color_image(), canvas.sketch_image()


def render_with_metadata(seed: int, height: int = 512) -> tuple[np.ndarray, dict[str, Any]]:
    """A pair (see render_pair) and what was drawn: kind, hair style and colors, collar, ..."""
    canvas, meta = _render(seed, height)
    return np.concatenate([canvas.color_image(), canvas.sketch_image()], axis=1), meta


def render_pair(seed: int, height: int = 512) -> np.ndarray:
    """One training pair, (height, 2*height, 3) uint8 RGB: color on the left, sketch on the right."""
    return render_with_metadata(seed, height)[0]


# --------------------------------------------------------------------------- dataset files


def item_seed(seed: int, split: str, index: int) -> int:
    """The render seed of one dataset item; train seeds are even and val seeds odd, so they never overlap."""
    split_code = int.from_bytes(split.encode(), "little")
    state = int(np.random.SeedSequence([int(seed), split_code, int(index)]).generate_state(1, np.uint64)[0])
    return (state & ~1) | SPLITS.index(split)


def dataset_spec(n_train: int, n_val: int, seed: int, height: int) -> dict[str, int]:
    """The marker content that identifies a generated dataset."""
    return {"format_version": PAIR_FORMAT_VERSION, "n_train": int(n_train), "n_val": int(n_val),
            "seed": int(seed), "height": int(height)}


def is_complete_dataset(root: str | Path, spec: dict[str, int]) -> bool:
    """True when root holds a finished dataset matching spec (marker and file counts agree)."""
    root = Path(root)
    try:
        marker = json.loads((root / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(key) != value for key, value in spec.items()):
        return False
    return all(_count_pngs(root / split) == spec[f"n_{split}"] for split in SPLITS)


def _count_pngs(folder: Path) -> int:
    """Number of .png files in a folder (0 if it does not exist)."""
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(".png"))
    except OSError:
        return 0


def write_dataset(root: str | Path, n_train: int, n_val: int, seed: int = 0, height: int = 512,
                  progress: bool = True) -> Path:
    """Write root/train/000000.png ... and root/val/... plus root/DATASET.json, atomically.

    Files are generated in a temporary sibling folder that is renamed into place at the end,
    so an interrupted run never leaves something that looks complete. Does nothing if root
    already holds this dataset; replaces an older dataset written by this function.
    """
    if n_train < 0 or n_val < 0 or seed < 0:
        raise ValueError(f"n_train, n_val and seed must be >= 0, got {n_train}, {n_val}, {seed}")
    root = Path(root).expanduser()
    spec = dataset_spec(n_train, n_val, seed, height)
    if is_complete_dataset(root, spec):
        return root
    _check_replaceable(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_tmp_dirs(root)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()}"
    try:
        _write_split_files(tmp, spec, progress, desc=f"generating {root.name}")
        (tmp / MARKER_NAME).write_text(json.dumps({**spec, "generator": GENERATOR_NAME}, indent=2) + "\n")
        _move_into_place(tmp, root, spec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write_split_files(folder: Path, spec: dict[str, int], progress: bool, desc: str) -> None:
    """Render and save every pair of both splits into folder/train and folder/val."""
    from tqdm.auto import tqdm  # only needed while writing

    jobs = [(split, index) for split in SPLITS for index in range(spec[f"n_{split}"])]
    for split in SPLITS:
        (folder / split).mkdir(parents=True)
    # Threads overlap one pair's PNG encoding (which releases the GIL) with the next one's
    # drawing; each file depends only on its own seed, so the output is the same either way.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
    try:
        futures = [pool.submit(_write_pair_file, folder, spec, split, index) for split, index in jobs]
        with tqdm(total=len(jobs), desc=desc, unit="pair", disable=not progress) as bar:
            for future in concurrent.futures.as_completed(futures):
                future.result()
                bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on errors or Ctrl-C: stop, do not finish the rest


def _write_pair_file(folder: Path, spec: dict[str, int], split: str, index: int) -> None:
    """Render one pair and write it as folder/<split>/<index>.png."""
    pair = render_pair(item_seed(spec["seed"], split, index), spec["height"])
    path = folder / split / f"{index:06d}.png"
    if not cv2.imwrite(str(path), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR), PNG_PARAMS):
        raise OSError(f"{path}: could not write PNG")


def _check_replaceable(root: Path) -> None:
    """Refuse to replace a folder that is neither empty nor a dataset written by write_dataset."""
    if not root.exists():
        return
    if root.is_dir() and ((root / MARKER_NAME).exists() or not any(root.iterdir())):
        return
    raise FileExistsError(f"{root}: exists and is not a dataset written by {GENERATOR_NAME}; "
                          "remove it or pick another folder")


def _move_into_place(tmp: Path, root: Path, spec: dict[str, int]) -> None:
    """Rename the finished tmp folder to root, setting aside whatever was there."""
    old = None
    if root.exists() and any(root.iterdir()):
        old = root.parent / f".{root.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(root, old)
    try:
        os.replace(tmp, root)
    except OSError:
        if not is_complete_dataset(root, spec):  # otherwise another process just finished the same dataset
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned_tmp_dirs(root: Path) -> None:
    """Delete tmp folders next to root that were left by killed runs on this machine."""
    prefix = f".{root.name}.tmp-"
    for path in root.parent.glob(prefix + "*"):
        pid, _, rest = path.name[len(prefix):].partition("-")  # "<pid>-<random>-<host>"
        host = rest.partition("-")[2]
        # A shared cache folder may be in use by another machine: only judge our own processes.
        if pid.isdigit() and host == socket.gethostname() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    """Whether a process with this id exists (assume yes where that cannot be checked)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_cache_dir() -> Path:
    """$SKETCH2COLOR_CACHE, or ~/.cache/sketch2color."""
    return Path(os.environ.get("SKETCH2COLOR_CACHE") or Path.home() / ".cache" / "sketch2color").expanduser()


def embedded_dataset_dir(cache_dir: str | Path | None = None, n_train: int = 800, n_val: int = 80, seed: int = 0,
                         height: int = 512) -> Path:
    """Where the embedded dataset with these settings lives, e.g. <cache>/embedded-v1-s0-h512-n800-v80."""
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return base / f"embedded-v{PAIR_FORMAT_VERSION}-s{seed}-h{height}-n{n_train}-v{n_val}"


def ensure_embedded_dataset(cache_dir: str | Path | None = None, n_train: int = 800, n_val: int = 80, seed: int = 0,
                            height: int = 512, progress: bool = True) -> Path:
    """The embedded dataset root (with train/ and val/), generated on first use and reused afterwards."""
    root = embedded_dataset_dir(cache_dir, n_train, n_val, seed, height)
    spec = dataset_spec(n_train, n_val, seed, height)
    if is_complete_dataset(root, spec):
        return root
    if root.exists():  # a folder with our naming scheme that is not complete: ours to rebuild
        shutil.rmtree(root)
    return write_dataset(root, n_train, n_val, seed, height, progress)
