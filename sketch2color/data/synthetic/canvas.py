"""The two-layer canvas: flat cel fills on a color layer, outlines on an ink layer, in lockstep."""

from __future__ import annotations

import cv2
import numpy as np

from sketch2color.data.synthetic.palette import RGB, hsv_rgb, shadow_of

REFERENCE_SIZE = 512  # line widths are given in pixels at this size and scaled from it
SHIFT = 4  # fixed-point fraction bits: cv2 then draws at 1/16 pixel precision
FIXED_ONE = 1 << SHIFT
OUTLINE = 2.0  # outline width in pixels at REFERENCE_SIZE
DETAIL = 1.2  # width of inner detail lines


def _fixed(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates as cv2 fixed-point int32 (see SHIFT)."""
    return np.rint(np.asarray(points, float) * FIXED_ONE).astype(np.int32)


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

    def paint(
        self,
        polygons: list[np.ndarray],
        rgb: RGB,
        clip: list[np.ndarray] | None = None,
        minus: list[np.ndarray] | None = None,
    ) -> None:
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
        # copyTo writes through the view; much faster than numpy masking
        cv2.copyTo(patch, mask, self.fill[y0:y1, x0:x1])

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
