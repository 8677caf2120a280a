"""Characters: the design (style and colors, also returned as metadata), the head pose, and the
painter that draws hair, body, collar, face and accessories back to front."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sketch2color.data.synthetic.canvas import DETAIL, OUTLINE, Canvas
from sketch2color.data.synthetic.geometry import (
    Pose,
    bezier,
    ellipse,
    lerp,
    mirror_x,
    rectangle,
    rotate,
    spline,
)
from sketch2color.data.synthetic.outlines import (
    bangs_outline,
    crown_strands,
    face_outline,
    highlight_band,
    long_back_hair,
    neck_outline,
    neckline_for,
    ponytail,
    side_lock,
    skull_outline,
    torso_outline,
    twin_tail,
)
from sketch2color.data.synthetic.palette import (
    ACCESSORIES,
    ACCESSORY_ODDS,
    BLUSH,
    CLOTHES,
    COLLARS,
    EYE_WHITE,
    HAIR,
    HAIR_STYLES,
    MOUTH,
    PINK,
    RED,
    RGB,
    SAILOR_COLLAR,
    SKIN_LIGHT,
    SKIN_TAN,
    WHITE,
    YELLOW,
    highlight_of,
    hsv_rgb,
    rgb_hsv,
    shadow_of,
)


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
    """Pick style and colors; the colors follow the regularities in the package docstring."""
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    hair = HAIR[style].sample(rng)
    hair_hue = rgb_hsv(hair)[0]
    eye = hsv_rgb(hair_hue + rng.uniform(-8, 8), rng.uniform(0.6, 0.85), rng.uniform(0.62, 0.85))
    skin = (SKIN_TAN if rng.random() < 0.15 else SKIN_LIGHT).sample(rng)
    collar = COLLARS[int(rng.integers(len(COLLARS)))]
    accessory = ACCESSORIES[int(rng.choice(len(ACCESSORIES), p=ACCESSORY_ODDS))]
    return CharacterDesign(
        hair_style=style,
        hair_rgb=hair,
        eye_rgb=eye,
        skin_rgb=skin,
        collar=collar,
        clothes_rgb=CLOTHES[collar].sample(rng),
        accessory=accessory,
        eyes="closed" if rng.random() < 0.12 else "open",
        mouth=("smile", "open", "flat")[int(rng.choice(3, p=(0.5, 0.3, 0.2)))],
        blush=bool(rng.random() < 0.5),
    )


def random_pose(rng: np.random.Generator, size: int) -> Pose:
    """Where the head sits: size, position, a slight tilt and which way it faces."""
    radius = rng.uniform(0.15, 0.2) * size
    center = (rng.uniform(0.4, 0.6) * size, rng.uniform(0.3, 0.4) * size)
    return Pose(center, radius, rng.uniform(-8, 8), bool(rng.random() < 0.5))


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
        band = self.pose(highlight_band(self.rng))
        self.canvas.paint([band], highlight_of(self.design.hair_rgb), clip=[skull])

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
        outline = np.vstack([left, [(0.0, 1.95)], mirror_x(left[::-1]), [(0.0, 1.2)]])
        hood = spline(outline, closed=True, samples=6)
        self.shape(hood, shadow_of(self.design.clothes_rgb, 0.25))
        for side in (1, -1):  # the rim of the hood, folded over
            self.stroke(bezier((0.42 * side, 1.08), (0.66 * side, 1.3), (0.6 * side, 1.62), 8))

    def draw_neck(self) -> None:
        """Neck and chest with the chin's shadow on the neck."""
        neck = self.shape(neck_outline(), self.design.skin_rgb)
        chin_shadow = self.pose(face_outline() + (0.0, 0.28))
        self.canvas.paint([chin_shadow], shadow_of(self.design.skin_rgb), clip=[neck])

    def draw_body(self) -> None:
        """Shoulders in the clothes color, with arm lines."""
        self.shape(torso_outline(neckline_for(self.design.collar)), self.design.clothes_rgb, shade=0.22)
        for side in (1, -1):
            self.stroke(bezier((1.62 * side, 2.1), (1.6 * side, 2.8), (1.68 * side, 4.0), 8), DETAIL)

    def draw_collar(self) -> None:
        """The collar details that identify the clothes."""
        {
            "sailor": self.draw_sailor_collar,
            "blazer": self.draw_blazer,
            "tshirt": self.draw_tshirt_rib,
            "hoodie": self.draw_drawstrings,
            "turtleneck": self.draw_turtleneck,
        }[self.design.collar]()

    def draw_sailor_collar(self) -> None:
        """A navy sailor collar with a white stripe and a red scarf."""
        a, b = np.array([-0.38, 1.42]), np.array([-1.5, 1.82])
        apex, d = np.array([0.0, 2.62]), np.array([0.0, 2.25])
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
            collar = np.array([(-0.4, 1.38), (-0.02, 1.58), (-0.25, 1.85)])
            self.shape(collar * (side, 1), shirt, width=DETAIL)
            lapel = np.array([(-0.4, 1.42), (-0.62, 1.95), (-0.5, 2.05), (-0.05, 2.72), (-0.3, 2.0)])
            lapel = lapel * (side, 1)
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
            ear = ellipse(0.9 * side, 0.22, 0.15, 0.25, n=24, angle=-10 * side)
            self.shape(ear, self.design.skin_rgb, shade=0.04)
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
            tongue = self.pose(ellipse(0.0, 0.9, 0.08, 0.05, n=16))
            self.canvas.paint([tongue], PINK.sample(self.rng), clip=[pixels])
        elif self.design.mouth == "smile":
            self.stroke(bezier((-0.1, 0.77), (0.0, 0.84), (0.1, 0.77), 8), DETAIL * 1.2)
        else:
            self.stroke(np.array([(-0.07, 0.8), (0.07, 0.8)]), DETAIL * 1.2)

    # ---- accessories

    def draw_accessory(self) -> None:
        """The optional accessory (cat ears are drawn with the back hair)."""
        draw = {
            "bow": self.draw_bow,
            "clip": self.draw_clip,
            "flower": self.draw_flower,
            "glasses": self.draw_glasses,
        }
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
