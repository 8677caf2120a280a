"""Scenery: sky, sun, clouds, far mountains or hills, grass, path, pond, houses and trees, and
the backgrounds behind portraits."""

from __future__ import annotations

import numpy as np

from sketch2color.data.synthetic.canvas import DETAIL, OUTLINE, Canvas
from sketch2color.data.synthetic.geometry import bezier, ellipse, lerp, rectangle, spline, trapezoid
from sketch2color.data.synthetic.palette import (
    BACKGROUND_PLAIN,
    BACKGROUND_SPARKLE,
    CLOUD,
    DOOR,
    GRASS,
    LEAVES,
    MOUNTAIN,
    PATH,
    PINE,
    ROOF,
    SKY_TOP,
    SPARKLE,
    SUN,
    TRUNK,
    WALL,
    WATER,
    WINDOW,
    hsv_rgb,
    rgb_hsv,
    shadow_of,
)


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
        teeth = [
            lerp(a, b, t) + (0, (0.03 if k % 2 else -0.005) * s)
            for k, t in enumerate(np.linspace(0.2, 0.8, 4))
        ]
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
    left = spline(
        [(far_x - 0.01 * s, far_y), (mid[0] - 0.06 * s, mid[1]), (near_x - 0.16 * s, 1.05 * s)], samples=10
    )
    right = spline(
        [(near_x + 0.16 * s, 1.05 * s), (mid[0] + 0.06 * s, mid[1]), (far_x + 0.01 * s, far_y)], samples=10
    )
    canvas.shape(np.vstack([left, right]), PATH.sample(rng), width=DETAIL * 1.4)


def draw_pond(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, rx: float) -> None:
    """Light-blue water with a few ripple lines."""
    canvas.shape(ellipse(cx, cy, rx, rx * 0.3, n=40), WATER.sample(rng), shade=0.06 * rx)
    for _ in range(int(rng.integers(2, 4))):
        x, y = cx + rng.uniform(-0.5, 0.5) * rx, cy + rng.uniform(-0.12, 0.12) * rx
        w = rng.uniform(0.15, 0.3) * rx
        canvas.stroke(bezier((x - w, y), (x, y - 0.05 * rx), (x + w, y)), DETAIL)


def draw_house(
    canvas: Canvas, rng: np.random.Generator, x: float, base: float, scale: float, meta: dict
) -> None:
    """A cottage in an oblique view: front wall, shaded side wall, roof, door and windows."""
    w = 0.14 * scale * canvas.size * rng.uniform(0.85, 1.2)
    h = 0.09 * scale * canvas.size * rng.uniform(0.9, 1.2)
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
        eaves_line = np.array([(x0 - eave, top + 0.02 * h), apex, (x1 + eave, top + 0.02 * h)])
        canvas.stroke(eaves_line, OUTLINE * 1.4)
    else:
        inset = 0.3 * w
        eave_y, ridge_y = top + 0.05 * h, top - rise * 0.8
        front = np.array(
            [(x0 - eave, eave_y), (x0 + inset, ridge_y), (x1 - inset, ridge_y), (x1 + eave, eave_y)]
        )
        eave_corner, ridge_end = (front[3], front[2]) if side > 0 else (front[0], front[1])
        offset = np.array([side, -lift])
        roof_side = np.array([ridge_end, eave_corner, eave_corner + offset, ridge_end + offset])
        canvas.shape(roof_side, shadow_of(roof, 0.15))
        canvas.shape(front, roof)
    draw_house_openings(canvas, rng, x0, x1, top, base)
    meta.setdefault("roofs", []).append(roof_kind)


def draw_house_openings(
    canvas: Canvas, rng: np.random.Generator, x0: float, x1: float, top: float, base: float
) -> None:
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
        cx, cy, rx = rng.uniform(0.25, 0.75) * s, rng.uniform(0.7, 0.85) * s, rng.uniform(0.12, 0.22) * s
        draw_pond(canvas, rng, cx, cy, rx)
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
