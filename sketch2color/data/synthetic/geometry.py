"""Point lists for drawing: ellipses, Bezier and Catmull-Rom curves, simple transforms, and the
head pose that maps head-local coordinates to canvas pixels. Pure numpy, float pixels, y down."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def ellipse(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    start: float = 0.0,
    end: float = 360.0,
    n: int = 36,
    angle: float = 0.0,
) -> np.ndarray:
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
    curve = 0.5 * (
        2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3
    )
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
    return np.array(
        [(x - bottom_half, base), (x + bottom_half, base), (x + top_half, top), (x - top_half, top)]
    )


def lerp(a: Sequence[float], b: Sequence[float], t: float) -> np.ndarray:
    """The point a fraction t of the way from a to b."""
    a = np.asarray(a, float)
    return a + (np.asarray(b, float) - a) * t


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
