"""The procedural anime pairs of the embedded dataset: illustrations with their line art.

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

Modules, each importing only the ones above it:

    palette.py    HSV helpers, shadow / highlight tones, the color family of every region
    geometry.py   ellipses, Bezier and Catmull-Rom curves, transforms, the head ``Pose``
    canvas.py     ``Canvas``: color and ink layers drawn in lockstep
    scenery.py    sky, sun, clouds, mountains, grass, houses, trees; portrait backgrounds
    outlines.py   hair, face and body outlines in head-local coordinates
    character.py  the character design and its painter
    render.py     one pair from a seed: ``render_pair``, ``render_with_metadata``

Writing the pairs to disk once and reusing them is ``sketch2color.data.embedded``. Typical use::

    pair = render_pair(seed=7)                       # (512, 1024, 3) uint8, RGB
    pair, meta = render_with_metadata(seed=7)        # + what was drawn: kind, hair style, colors, ...
"""

from sketch2color.data.synthetic.palette import ACCESSORIES, COLLARS, HAIR_STYLES
from sketch2color.data.synthetic.render import (
    PAIR_FORMAT_VERSION,
    render_color_and_sketch,
    render_pair,
    render_with_metadata,
)

__all__ = [
    "ACCESSORIES",
    "COLLARS",
    "HAIR_STYLES",
    "PAIR_FORMAT_VERSION",
    "render_color_and_sketch",
    "render_pair",
    "render_with_metadata",
]
