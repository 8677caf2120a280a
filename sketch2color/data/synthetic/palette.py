"""Colors: HSV helpers, cel-shadow and highlight tones, and the color family of every region.

The tables are the learnable regularities listed in the package docstring: each region of a
drawing samples its color from one ``Family`` (a hue with jitter, ranges of saturation and value).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]


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
ROOF = {
    "gable": Family(6, 7, (0.60, 0.74), (0.66, 0.80)),  # red
    "hipped": Family(212, 8, (0.30, 0.44), (0.46, 0.60)),  # blue-gray
}
DOOR = Family(25, 6, (0.45, 0.60), (0.40, 0.52))
WINDOW = Family(195, 6, (0.20, 0.32), (0.96, 1.00))
PATH = Family(35, 5, (0.25, 0.36), (0.86, 0.95))
WATER = Family(198, 6, (0.40, 0.55), (0.88, 0.98))
