"""Character outlines in head-local coordinates (head radius 1, y down): hair masses, bangs,
locks and tails, face, neck and torso. Only points; ``character`` draws them."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from sketch2color.data.synthetic.geometry import bezier, lerp, mirror_x, spline

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
    edges = [bezier(a, lerp(a, b, 0.5) * 1.04, b, 4)[:-1] for a, b in pairwise(points)]
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
    outer = spline(
        [(-1.14, -0.35), (-1.17, 0.2), (-1.12 - spread, end * 0.7), (-1.0 - spread, end)], samples=5
    )
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
