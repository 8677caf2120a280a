#!/usr/bin/env python
"""Build the tutorial notebooks (01..04) from the cell sources below, without outputs.

    python notebooks/build_notebooks.py            # rewrite notebooks/*.ipynb
    python notebooks/build_notebooks.py --check    # exit 1 if a notebook differs from this file

Edit the notebooks here, not in Jupyter, so they stay reviewable and regenerable. Every notebook
has exactly one code cell tagged "parameters" (papermill convention); tests/test_notebooks.py
runs each notebook with small values injected right after that cell.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

INSTALL = '''\
# Colab / Kaggle: uncomment to install sketch2color (the clone also brings data_scripts/),
# then restart the runtime if it asks. <repository URL> is this project's git URL.
# !git clone <repository URL> sketch2color && pip install -q -e ./sketch2color
'''

SHOW_HELPER = '''\
def show(images, titles=None, size=3.0):
    """Images side by side; float images in [-1, 1] are displayed as x * 0.5 + 0.5."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for axis, image, title in zip(axes[0], images, titles or [""] * len(images)):
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image * 0.5 + 0.5, 0.0, 1.0)
        axis.imshow(image)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    plt.tight_layout()
    plt.show()
'''


def md(text: str):
    return ("markdown", text.strip("\n"))


def code(text: str, tags: tuple[str, ...] = ()):
    return ("code", text.strip("\n"), tags)


def parameters(text: str):
    return code(text, ("parameters",))


# =========================================================================== 01 data pipeline

NB01 = [
    md("""
# 01 · The data pipeline: from pair files to training batches

sketch2color learns to turn a line-art **sketch** into a **colored** illustration (pix2pix:
a U-Net generator against a PatchGAN discriminator). This notebook follows the data:

1. the pair file format (one image = color | sketch),
2. the train/validation split,
3. the `tf.data` pipeline and its batches,
4. augmentation (the same geometry for sketch and color),
5. the embedded procedural dataset (no download needed),
6. the real Kaggle dataset, and pairs made from your own art (XDoG, Canny, gray).
"""),
    code(INSTALL),
    md("""
## Parameters

The defaults run on a laptop CPU in a minute or two (the first run also generates the
embedded dataset, 800 + 80 pairs, about 20-60 s; it is cached in `~/.cache/sketch2color`, or in
`$SKETCH2COLOR_CACHE`).
"""),
    parameters('''\
IMAGE_SIZE = 256        # pixels per side of a training image (pix2pix: 256; multiple of 16)
BATCH_SIZE = 4          # pairs per batch
DATA_DIR = None         # None: the embedded procedural dataset; else a folder of pair files
EMBEDDED_TRAIN = 800    # embedded dataset size (used when DATA_DIR is None)
EMBEDDED_VAL = 80
SEED = 0                # makes the split, the shuffling and the augmentation reproducible
N_AUGMENTATIONS = 4     # how many random augmentations of one pair to show
WORK_DIR = "runs/notebook-01"  # scratch files written by this notebook
'''),
    md("""
**Real dataset / GPU.** Set `DATA_DIR` to the Kaggle folder (e.g. `"~/data/anime-pairs"`, see
section 6) and keep `IMAGE_SIZE = 256`. Nothing here needs a GPU; on the real data the first
pass decodes 1024x512 PNGs, so iterating the training split once takes a minute or two.
"""),
    code('''\
%matplotlib inline
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display
from PIL import Image as PILImage

import sketch2color
from sketch2color import data, sketch, synthetic
from sketch2color.config import DataConfig

print("sketch2color", sketch2color.__version__, "| TensorFlow", tf.__version__)
work_dir = Path(WORK_DIR)
work_dir.mkdir(parents=True, exist_ok=True)
'''),
    code(SHOW_HELPER),
    md("""
## 1. The pair format

A *pair file* is one RGB image twice as wide as it is tall: the **color** illustration on the
left, its **sketch** on the right (the layout of Kaggle's "Anime Sketch Colorization Pair",
1024x512). `DataConfig` describes where pairs come from; `resolve_data_root` returns the
folder, generating the embedded dataset on first use.
"""),
    code('''\
config = DataConfig(data_dir=DATA_DIR, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=SEED,
                    embedded_train=EMBEDDED_TRAIN, embedded_val=EMBEDDED_VAL)
root = data.resolve_data_root(config)
print(root)
'''),
    code('''\
files = data.find_pair_files(root, config.val_fraction, config.seed)
pair_path = files["train"][0]
pair = data.read_image_rgb(pair_path)
print(pair_path.name, pair.shape, pair.dtype)  # (512, 1024, 3) uint8 for the embedded data

plt.figure(figsize=(10, 5))
plt.imshow(pair)
plt.title(f"{pair_path.name}: color | sketch, {pair.shape[1]}x{pair.shape[0]}")
plt.axis("off")
plt.show()
'''),
    md("""
`read_pair` splits it into `(sketch, color)`, each `[H, H, 3]` uint8. The sketch is the
model's **input**, the color its **target**; `sketch_side="right"` (the default) says which
half is which.
"""),
    code('''\
sketch_half, color_half = data.read_pair(pair_path, sketch_side=config.sketch_side)
print("sketch", sketch_half.shape, "| color", color_half.shape)
show([sketch_half, color_half], ["input: sketch (right half)", "target: color (left half)"], size=4)
'''),
    md("""
## 2. The train / validation split

The Kaggle folder comes with `train/` and `val/`, used as they are (the embedded dataset has
the same layout). A **flat folder** of pairs is split by a hash of each file name, so a file
keeps its split when you add more files later.
"""),
    code('''\
print({split: len(paths) for split, paths in files.items()})
for i in range(12, 28):
    name = f"drawing_{i:03d}.png"
    print(name, "->", data.split_of(name, val_fraction=0.1, seed=0), end="   " if i % 4 != 3 else "\\n")
'''),
    md("""
Check: put 3/4 of some pairs into a flat folder, split it, add the rest, split again; no file
changes sides.
"""),
    code('''\
flat = work_dir / "flat_folder"
shutil.rmtree(flat, ignore_errors=True)
flat.mkdir(parents=True)
sources = files["train"][:16]
first, later = sources[: 3 * len(sources) // 4], sources[3 * len(sources) // 4 :]

for i, path in enumerate(first):
    shutil.copy(path, flat / f"drawing_{i:03d}.png")
before = data.find_pair_files(flat, val_fraction=0.25)
for i, path in enumerate(later, start=len(first)):
    shutil.copy(path, flat / f"drawing_{i:03d}.png")
after = data.find_pair_files(flat, val_fraction=0.25)

print("before:", {k: len(v) for k, v in before.items()}, "| after:", {k: len(v) for k, v in after.items()})
moved = [p.name for split in ("train", "val") for p in before[split] if p not in after[split]]
print("files that changed split:", moved)
'''),
    md("""
## 3. From files to batches

`load_datasets` checks every file (a broken or non-2:1 file stops with its name), then builds:

```
list files -> decode (parallel) -> split halves -> resize to IMAGE_SIZE -> cache (uint8)
  -> shuffle -> augment -> batch -> prefetch
```

Batches are `(sketch, color)`, each `float32 [BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3]` in
**[-1, 1]** (the generator's tanh range); display them with `x * 0.5 + 0.5`. The first batch
takes longest: the shuffle buffer is filled with decoded pairs first (later epochs read the
cache).
"""),
    code('''\
splits = data.load_datasets(config)
print(len(splits.train_files), "train pairs,", len(splits.val_files), "validation pairs")

sketch_batch, color_batch = next(iter(splits.train))
print("sketch", sketch_batch.shape, sketch_batch.dtype.name, "| color", color_batch.shape, color_batch.dtype.name)
print(f"values in {float(tf.reduce_min(color_batch)):.2f} .. {float(tf.reduce_max(color_batch)):.2f}")
'''),
    code('''\
count = min(4, BATCH_SIZE)
fig, axes = plt.subplots(2, count, figsize=(3 * count, 6), squeeze=False)
for i in range(count):
    for row, (images, label) in enumerate(((sketch_batch, "sketch"), (color_batch, "color"))):
        axes[row, i].imshow(np.clip(images[i] * 0.5 + 0.5, 0, 1))  # [-1, 1] -> [0, 1]
        axes[row, i].set_title(f"train {label} {i}", fontsize=9)
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()
'''),
    md("""
The validation split is neither shuffled nor augmented: the same images in the same order
every epoch, so validation losses and previews are comparable across epochs.
"""),
    code('''\
val_sketch, val_color = next(iter(splits.val))
print("validation batch", val_sketch.shape, "| first file:", splits.val_files[0].name)
'''),
    md("""
## 4. Augmentation: one geometry for both halves

`augment_pair` stacks sketch and color into one `[H, W, 6]` tensor, so every geometric
operation moves both identically:

* default (pix2pix): upscale by 286/256, random crop back, horizontal flip;
* optional: rotation / shear / zoom / shift (`affine_prob`, ...), noise on the sketch,
  color jitter on the target.

Each seed is one augmentation. Below, the same pair several times; the third row draws the
sketch's lines over the color (`min(sketch, color)`): lines sit on the color edges, so the
halves stay aligned.
"""),
    code('''\
sketch0 = data.to_unit_range(data.resize_uint8(tf.constant(sketch_half), IMAGE_SIZE))  # [S, S, 3] in [-1, 1]
color0 = data.to_unit_range(data.resize_uint8(tf.constant(color_half), IMAGE_SIZE))
print("one pair:", sketch0.shape, color0.shape)

augmentations = {
    "default: jitter + flip": DataConfig(image_size=IMAGE_SIZE),
    "strong: + rotation/shear/zoom/shift, sketch noise, color jitter": DataConfig(
        image_size=IMAGE_SIZE, affine_prob=1.0, rotation=15, shear=8, zoom=0.15, shift=0.08,
        sketch_noise_prob=1.0, color_jitter_prob=1.0),
}
for title, augment_config in augmentations.items():
    fig, axes = plt.subplots(3, N_AUGMENTATIONS, figsize=(2.6 * N_AUGMENTATIONS, 8), squeeze=False)
    for k in range(N_AUGMENTATIONS):
        seed = tf.constant([SEED, k], tf.int64)
        s, c = data.augment_pair(sketch0, color0, seed, augment_config)
        for row, image in enumerate((s, c, tf.minimum(s, c))):
            axes[row, k].imshow(np.clip(image * 0.5 + 0.5, 0, 1))
            axes[row, k].axis("off")
        axes[0, k].set_title(f"seed {k}", fontsize=9)
    fig.suptitle(title + "  (rows: sketch, color, lines over color)")
    plt.tight_layout()
    plt.show()
'''),
    md("""
A numeric check of the same thing: augment a pair whose two halves are the *same* image. If
both halves get the same geometry, the outputs are identical.
"""),
    code('''\
for k in range(N_AUGMENTATIONS):
    s, c = data.augment_pair(sketch0, sketch0, tf.constant([SEED, k], tf.int64), DataConfig(image_size=IMAGE_SIZE))
    print(f"seed {k}: max |sketch - color| = {float(tf.reduce_max(tf.abs(s - c))):.1f}")
'''),
    md("""
## 5. The embedded dataset

Without `DATA_DIR`, sketch2color draws its own pairs (`sketch2color.synthetic`): cel-shaded
anime portraits (70 %) and landscapes (30 %), with clean outlines. The colors follow rules a
model can learn **from the lines alone**, for example:

| visible in the sketch | color |
|---|---|
| spiky hair / long straight / twin tails / bob / ponytail / short | red-orange / deep blue / pink / brown / blonde / teal |
| sailor collar / blazer + tie / round neck / hood / turtleneck | white + navy / dark green / light blue / lavender / wine red |
| face, neck | skin tones; pink blush under cheek hatching |
| no lines above the horizon / ground / peaks | blue sky / green grass / blue-gray mountains with snow |

Every color is jittered a little, and the light comes from the upper left (shadows on the
lower right). One portrait per hair style:
"""),
    code('''\
examples = {}
for seed in range(300):
    pair_image, meta = synthetic.render_with_metadata(seed, height=256)
    if meta["kind"] == "portrait" and meta["hair_style"] not in examples:
        examples[meta["hair_style"]] = (pair_image, meta)
    if len(examples) == len(synthetic.HAIR_STYLES):
        break
print(f"{len(examples)} hair styles; one pair is {pair_image.shape}")

fig, axes = plt.subplots(2, len(examples), figsize=(2.4 * len(examples), 5), squeeze=False)
for i, (style, (pair_image, meta)) in enumerate(examples.items()):
    half = pair_image.shape[1] // 2
    axes[0, i].imshow(pair_image[:, half:])
    axes[1, i].imshow(pair_image[:, :half])
    axes[0, i].set_title(f"{style} hair\\n{meta['collar']}", fontsize=9)
    for row in range(2):
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()
'''),
    md("""
`render_pair(seed)` is deterministic: the same seed gives the same pixels on every machine.
The cached dataset records how it was made:
"""),
    code('''\
print((root / synthetic.MARKER_NAME).read_text() if (root / synthetic.MARKER_NAME).exists() else f"{root}: not the embedded dataset")
same = np.array_equal(synthetic.render_pair(7, height=128), synthetic.render_pair(7, height=128))
print("render_pair(7) twice -> identical:", same)
'''),
    md("""
## 6. The real dataset: Kaggle "Anime Sketch Colorization Pair"

14,224 train + 3,545 validation pairs (about 1.5 GB). With a Kaggle API token
(kaggle.com → Settings → API):

```bash
pip install kagglehub                      # or: pip install -e ".[kaggle]"
python data_scripts/download_kaggle.py --dest ~/data/anime-pairs
python data_scripts/verify_dataset.py ~/data/anime-pairs --preview preview.png
```

then set `DATA_DIR = "~/data/anime-pairs"` above (the folder as downloaded: `train/` + `val/`,
also nested one level). On Kaggle itself, add the dataset to the notebook and point
`DATA_DIR` at `/kaggle/input/anime-sketch-colorization-pair`.

`verify_dataset.py` counts the pairs, lists bad files and draws what the model will see as
input and target. Here it runs on the current dataset:
"""),
    code('''\
scripts = Path(sketch2color.__file__).resolve().parents[1] / "data_scripts"
preview = work_dir / "dataset_preview.png"
if scripts.is_dir():
    command = [sys.executable, str(scripts / "verify_dataset.py"), str(root), "--preview", str(preview)]
    completed = subprocess.run(command, capture_output=True, text=True)
    print(completed.stdout[-3000:] or completed.stderr[-3000:])
    if preview.exists():
        display(Image(filename=str(preview)))
else:
    print("data_scripts/ is not next to the installed package: clone the repository to use the scripts")
'''),
    md("""
## 7. Pairs from your own color art

Any folder of color illustrations becomes pairs by **extracting** a sketch. Three methods
(`sketch2color.sketch`), compared here with the true sketch:

* **xdog** (default): soft, ink-like lines, tuned to look like the Kaggle sketches;
* **canny**: 1-pixel edges, broken where colors have similar brightness;
* **gray**: the grayscale image, shading and all (a weak baseline: the model only tints).
"""),
    code('''\
extracted = {name: sketch.extract_sketch(color_half, name) for name in ("xdog", "canny", "gray")}
print({name: image.shape for name, image in extracted.items()})
show([color_half, sketch_half, *extracted.values()], ["color", "true sketch", "xdog", "canny", "gray"])
'''),
    md("""
`data_scripts/make_pairs.py` does this for a folder (center-crop to a square, resize, write
`train/` and `val/` pair files):

```bash
python data_scripts/make_pairs.py my_color_art/ my_pairs/ --method xdog --size 512
```

Here on a few color images (cut to a non-square shape, like real art):
"""),
    code('''\
art_dir, pairs_dir = work_dir / "my_color_art", work_dir / "my_pairs"
for folder in (art_dir, pairs_dir):
    shutil.rmtree(folder, ignore_errors=True)
art_dir.mkdir(parents=True)
for i, path in enumerate(files["val"][:6]):
    _, color = data.read_pair(path)
    PILImage.fromarray(color[:, : color.shape[1] * 3 // 4]).save(art_dir / f"art_{i}.png")  # 4:3 portrait

if scripts.is_dir():
    command = [sys.executable, str(scripts / "make_pairs.py"), str(art_dir), str(pairs_dir),
               "--method", "xdog", "--size", "256", "--val-fraction", "0.2"]
    completed = subprocess.run(command, capture_output=True, text=True)
    print(completed.stdout[-2000:] or completed.stderr[-2000:])
    made = data.find_pair_files(pairs_dir)
    print({split: len(paths) for split, paths in made.items()})
    made_pair = data.read_image_rgb((made["train"] + made["val"])[0])
    print("pair file:", made_pair.shape)
    show([made_pair], ["made_pairs output: color | xdog sketch"], size=6)
'''),
    md("""
## Summary

* Pair file: color | sketch, width = 2 x height; `read_pair` → `(sketch, color)` uint8.
* Splits: `train/` + `val/` as given, else a stable hash of the file name.
* `load_datasets(DataConfig(...))` → batches `[B, S, S, 3]` float32 in [-1, 1], augmented with
  one geometry for both halves.
* No data? The embedded dataset. Real data: `download_kaggle.py`; own art: `make_pairs.py`.

Next: **02_models** builds the generator and the discriminator that consume these batches.
"""),
]


# =========================================================================== 02 models

NB02 = [
    md("""
# 02 · The models: U-Net generator and 70x70 PatchGAN

pix2pix has two networks:

* the **generator** G, a U-Net: sketch `[B, S, S, 3]` → color `[B, S, S, 3]` in [-1, 1];
* the **discriminator** D, a PatchGAN: (sketch, image) → a grid of real/fake logits, one per
  70x70 patch (`[B, 30, 30, 1]` at 256 px).

We build both, trace their shapes, look at what one D logit sees, and run the untrained
networks once.
"""),
    code(INSTALL),
    md("""
## Parameters

The defaults build the paper's networks at 256 px (54 M + 2.8 M parameters); one forward pass
takes about a second on a CPU.
"""),
    parameters('''\
IMAGE_SIZE = 256        # pixels per side (pix2pix: 256); multiple of 16
BASE_FILTERS = 64       # width of the first layer (pix2pix: 64; the embedded quick profile: 32)
DATA_DIR = None         # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0
'''),
    md("""
**Real dataset / GPU.** These are already the paper settings (`IMAGE_SIZE = 256`,
`BASE_FILTERS = 64`); set `DATA_DIR` to the Kaggle folder to look at real sketches. A GPU
only changes the speed.
"""),
    code('''\
%matplotlib inline
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from sketch2color import losses
from sketch2color.config import DataConfig
from sketch2color.data import load_datasets
from sketch2color.models import build_discriminator, build_generator
from sketch2color.models.patchgan import RECEPTIVE_FIELD, patch_grid_size
from sketch2color.models.unet import default_depth, encoder_filters

keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)
'''),
    code(SHOW_HELPER),
    md("""
## 1. The generator: a U-Net

An encoder halves the image `depth` times (8 at 256 px, down to 1x1), a decoder doubles it
back; **skip connections** concatenate each decoder level with the encoder level of the same
size, so the fine line positions reach the output directly. Blocks: conv 4x4 stride 2 →
batch norm → LeakyReLU(0.2) down, transposed conv → batch norm → (dropout 0.5 in the first
three) → ReLU up, tanh at the end.
"""),
    code('''\
depth = default_depth(IMAGE_SIZE)
print(f"{IMAGE_SIZE} px -> depth {depth}, encoder filters {encoder_filters(depth, BASE_FILTERS)}")
generator = build_generator("unet", image_size=IMAGE_SIZE, base_filters=BASE_FILTERS)
generator.summary(line_length=100)
'''),
    md("""
The model is fully convolutional (`None` height and width in the summary). Tracing one
`[1, S, S, 3]` input through every block shows the U shape:
"""),
    code('''\
blocks = [layer for layer in generator.layers if not isinstance(layer, keras.layers.InputLayer)]
tracer = keras.Model(generator.inputs, [layer.output for layer in blocks])
for layer, output in zip(blocks, tracer(tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3)))):
    print(f"{layer.name:12s} {type(layer).__name__:16s} -> {tuple(output.shape)}")
'''),
    md("""
## 2. The discriminator: a 70x70 PatchGAN

D sees the sketch and an image (the real color or G's output) concatenated to 6 channels,
and answers with a **grid of logits**: three stride-2 convs, then two 4x4 stride-1 convs. Each
cell judges one overlapping 70x70 patch, so D penalizes local texture and color mistakes.
"""),
    code('''\
discriminator = build_discriminator("patchgan", image_size=IMAGE_SIZE, base_filters=BASE_FILTERS)
discriminator.summary(line_length=100)
grid = patch_grid_size(IMAGE_SIZE)
print(f"{IMAGE_SIZE} px -> logit grid {grid}x{grid}")
'''),
    code('''\
blocks = [layer for layer in discriminator.layers if not isinstance(layer, keras.layers.InputLayer)]
tracer = keras.Model(discriminator.inputs, [layer.output for layer in blocks])
zeros = tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3))
for layer, output in zip(blocks, tracer([zeros, zeros])):
    print(f"{layer.name:14s} {type(layer).__name__:16s} -> {tuple(output.shape)}")
'''),
    md("""
**What one logit sees.** The gradient of one output cell with respect to the input image is
non-zero exactly on that cell's receptive field: 70x70 pixels (clipped at the border of small
images).
"""),
    code('''\
probe = tf.Variable(tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3)))
i = j = grid // 2
with tf.GradientTape() as tape:
    cell = discriminator([tf.zeros_like(probe), probe], training=False)[0, i, j, 0]
seen = np.abs(tape.gradient(cell, probe).numpy()[0]).sum(axis=-1) > 0  # [S, S] bool
rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
print(f"cell ({i}, {j}) sees rows {rows.min()}..{rows.max()}, columns {cols.min()}..{cols.max()}: "
      f"{rows.max() - rows.min() + 1}x{cols.max() - cols.min() + 1} px (full field: {RECEPTIVE_FIELD}x{RECEPTIVE_FIELD})")

plt.figure(figsize=(4, 4))
plt.imshow(seen, cmap="gray")
plt.title(f"input pixels seen by D cell ({i}, {j})")
plt.axis("off")
plt.show()
'''),
    md("""
## 3. One forward pass of the untrained generator

A validation pair from the pipeline of notebook 01, `[1, S, S, 3]` in [-1, 1]. The untrained
G gives gray noise with at most a faint trace of the sketch: nothing is learned yet.
"""),
    code('''\
splits = load_datasets(DataConfig(data_dir=DATA_DIR, image_size=IMAGE_SIZE, batch_size=1, seed=SEED,
                                  embedded_train=EMBEDDED_TRAIN, embedded_val=EMBEDDED_VAL))
sketch, color = next(iter(splits.val))
fake = generator(sketch, training=True)  # training=True: dropout on, batch statistics (as in training)
print("sketch", sketch.shape, "-> G(sketch)", fake.shape, "values", float(tf.reduce_min(fake)), "..", float(tf.reduce_max(fake)))
show([sketch[0], fake[0], color[0]], ["sketch (input)", "untrained G(sketch)", "ground truth"], size=3.5)
'''),
    md("""
## 4. The patch map

D's verdict on three images for the same sketch: the real color, a random image and G's
output. Shape `[1, grid, grid, 1]`; `sigmoid(logit)` is "probability real". Untrained, D
cannot tell them apart (all near 0.5); training makes the real map bright and the fake ones
dark, patch by patch.
"""),
    code('''\
random_image = tf.random.uniform(color.shape, -1.0, 1.0, seed=SEED)
candidates = {"real color": color, "random image": random_image, "untrained G(sketch)": fake}
logits = {name: discriminator([sketch, image], training=False) for name, image in candidates.items()}
for name, value in logits.items():
    print(f"{name:20s} logits {tuple(value.shape)}  mean sigmoid {float(tf.reduce_mean(tf.sigmoid(value))):.3f}")

low = min(float(tf.reduce_min(v)) for v in logits.values())
high = max(float(tf.reduce_max(v)) for v in logits.values())
fig, axes = plt.subplots(2, 3, figsize=(10, 7))
for column, (name, image) in enumerate(candidates.items()):
    axes[0, column].imshow(np.clip(image[0] * 0.5 + 0.5, 0, 1))
    axes[0, column].set_title(name, fontsize=9)
    shown = axes[1, column].imshow(logits[name][0, :, :, 0], cmap="magma", vmin=low, vmax=high)
    axes[1, column].set_title(f"D logits, {grid}x{grid} patches", fontsize=9)
    for row in range(2):
        axes[row, column].axis("off")
fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="logit (untrained)")
plt.show()
'''),
    md("""
These logits feed the losses of `sketch2color.losses` (one value per example). Untrained,
D's loss is about ln 2 = 0.693, the loss of a coin flip; G's loss adds 100 x L1.
"""),
    code('''\
real_logits, fake_logits = logits["real color"], logits["untrained G(sketch)"]
print("D loss   0.5 * (BCE(real, 1) + BCE(fake, 0)):", losses.discriminator_adversarial_loss(real_logits, fake_logits).numpy())
print("G loss   BCE(fake, 1):                        ", losses.generator_adversarial_loss(fake_logits).numpy())
print("G loss   L1 |color - G(sketch)|:              ", losses.l1_loss(color, fake).numpy())
'''),
    md("""
## 5. Other image sizes

Both networks are built for a size: the U-Net's depth is `log2(size)` (at most 8), the
PatchGAN's grid follows from its strides. The exported model later accepts any size.
"""),
    code('''\
print(f"{'size':>5} {'U-Net depth':>12} {'bottleneck':>11} {'D grid':>7}")
for size in (32, 64, 128, 256, 512):
    levels = default_depth(size)
    print(f"{size:5d} {levels:12d} {size // 2**levels:>9d}px {patch_grid_size(size):5d}x{patch_grid_size(size)}")
print(f"parameters at {IMAGE_SIZE} px: G {generator.count_params():,}  D {discriminator.count_params():,}")
'''),
    md("""
## Summary

* `build_generator("unet", image_size=S)`: `[B, S, S, 3]` → `[B, S, S, 3]`, tanh.
* `build_discriminator("patchgan", image_size=S)`: `[sketch, image]` → `[B, g, g, 1]` logits,
  each cell a 70x70 patch (g = 30 at 256 px).
* Untrained: G outputs gray blotches, D says 0.5 everywhere.

Next: **03_training** trains them against each other.
"""),
]


# =========================================================================== 03 training

NB03 = [
    md("""
# 03 · Training: the pix2pix step, a short run, previews, resume

`sketch2color.training.train(RunConfig)` is the whole training run (the same as
`python -m sketch2color.train`): it builds G and D, fits them with a custom `train_step`,
writes checkpoints, previews and loss curves into a **run directory**, exports the model, and
resumes when called again on the same directory.
"""),
    code(INSTALL),
    md("""
## Parameters

The defaults train small networks (32 base filters) at 64 px for a few hundred steps: about
3-5 minutes on 2 CPU cores, enough to see sky, grass and hair colors appear.
"""),
    parameters('''\
IMAGE_SIZE = 64          # training resolution (multiple of 16)
BATCH_SIZE = 4
EPOCHS = 4               # first training run
MORE_EPOCHS = 1          # added by the resume section
STEPS_PER_EPOCH = 50     # None: one pass over the training pairs
BASE_FILTERS = 32        # network width (pix2pix: 64)
CHECKPOINT_EVERY = 25    # also checkpoint every N steps (plus at every epoch end)
DATA_DIR = None          # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0
RUN_DIR = "runs/notebook-03"
OVERWRITE = True         # start from scratch: delete RUN_DIR first (False: continue a previous run)
'''),
    md("""
**Real dataset / GPU** (the paper's setup): `DATA_DIR = "~/data/anime-pairs"`,
`IMAGE_SIZE = 256`, `BATCH_SIZE = 1`, `BASE_FILTERS = 64`, `EPOCHS = 150`,
`STEPS_PER_EPOCH = None` (14,224 steps per epoch), `CHECKPOINT_EVERY = 500`, and a new
`RUN_DIR`. That needs a GPU (minutes per epoch; about 5 hours per epoch on 2 CPU cores). On
Colab, put `RUN_DIR` on Google Drive so a disconnect loses nothing: rerunning resumes.
"""),
    code('''\
%matplotlib inline
import copy
import inspect
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from sketch2color import callbacks, training
from sketch2color.config import RunConfig, to_dict
from sketch2color.data import load_datasets
from sketch2color.gan import Pix2Pix

print("TensorFlow", tf.__version__, "| devices:", [d.device_type for d in tf.config.list_physical_devices()])
'''),
    md("""
## 1. The run configuration

`RunConfig` holds three dataclasses, `data`, `model` and `train`; the run saves it as
`config.json` in `RUN_DIR`.
"""),
    code('''\
run_dir = Path(RUN_DIR)
if OVERWRITE and run_dir.exists():
    if not (run_dir / "config.json").is_file():
        raise RuntimeError(f"{run_dir} exists but is not a sketch2color run directory; not deleting it")
    shutil.rmtree(run_dir)

config = RunConfig(run_dir=RUN_DIR)
config.data.data_dir = DATA_DIR
config.data.image_size = IMAGE_SIZE
config.data.batch_size = BATCH_SIZE
config.data.seed = SEED
config.data.embedded_train, config.data.embedded_val = EMBEDDED_TRAIN, EMBEDDED_VAL
config.model.generator_kwargs = {"base_filters": BASE_FILTERS}
config.model.discriminator_kwargs = {"base_filters": BASE_FILTERS}
config.train.epochs = EPOCHS
config.train.steps_per_epoch = STEPS_PER_EPOCH
config.train.checkpoint_every_steps = CHECKPOINT_EVERY

settings = to_dict(config)
for section in ("data", "model", "train"):
    print(section, settings[section])
'''),
    md("""
## 2. The training step

`Pix2Pix` is a `keras.Model` whose `train_step` updates **both** networks from one forward
pass, under two gradient tapes:

* G: `gen_total_loss = BCE(D(sketch, G(sketch)), 1) + 100 * L1(color, G(sketch))`: fool D and
  stay close to the target;
* D: `disc_loss = 0.5 * (BCE(D(sketch, color), 1) + BCE(D(sketch, G(sketch)), 0))`.

Losses are computed per example and averaged over the global batch, so the same step runs
on several GPUs. The source, as installed:
"""),
    code('''\
print(inspect.getsource(Pix2Pix.train_step))
'''),
    code('''\
print(inspect.getsource(Pix2Pix._per_example_losses))
'''),
    md("""
A quick check of one step: build the GAN as `train` does and call `train_step` on one batch
`[B, S, S, 3]` (eagerly; `fit` calls it inside a `tf.function`). It returns the four running
losses, and both optimizers have taken one step.
"""),
    code('''\
splits = load_datasets(config.data)
gan = training.build_gan(config, steps_per_epoch=STEPS_PER_EPOCH or 1)
sketch, color = next(iter(splits.train))
print("batch", sketch.shape, color.shape)
step_logs = gan.train_step((sketch, color))
print({name: round(float(value), 4) for name, value in step_logs.items()})
print("steps: G", int(gan.g_optimizer.iterations), "| D", int(gan.d_optimizer.iterations))
del gan  # train() below builds its own
'''),
    md("""
## 3. A short training run

One call. Per epoch it prints the training and validation losses and images/s; after each
epoch it saves a checkpoint, a preview (the same validation sketches | prediction | ground
truth) and the loss curves.
"""),
    code('''\
result = training.train(config)
print(result.run_dir, "| epochs done:", result.epochs_done, "| steps:", result.step, "| export:", result.export_dir)
'''),
    md("""
The run directory:
"""),
    code('''\
for path in sorted(run_dir.rglob("*")):
    if path.is_file() and "logs" not in path.parts and "saved_model" not in path.parts:
        print(f"{str(path.relative_to(run_dir)):45s} {path.stat().st_size / 1024:8.1f} kB")
'''),
    md("""
**Previews**, one per epoch (`previews/epoch_NNNN.png`): the predictions (middle column) move
from gray toward the ground truth. The generator runs with `training=False` here, as in the
exported model.
"""),
    code('''\
def show_previews(paths, max_shown=5):
    """Preview PNGs side by side (first, last and evenly spaced ones in between)."""
    paths = sorted(paths)
    picks = sorted({round(x) for x in np.linspace(0, len(paths) - 1, min(max_shown, len(paths)))})
    fig, axes = plt.subplots(1, len(picks), figsize=(3.4 * len(picks), 4.8), squeeze=False)
    for axis, index in zip(axes[0], picks):
        axis.imshow(plt.imread(paths[index]))
        axis.set_title(paths[index].name, fontsize=9)
        axis.axis("off")
    plt.tight_layout()
    plt.show()

previews = sorted((run_dir / "previews").glob("epoch_*.png"))
print(len(previews), "previews:", [p.name for p in previews])
show_previews(previews)
'''),
    md("""
The last one at full size. Previews use batch norm's *moving* statistics (`training=False`),
which would trail a generator that still changes fast; the run recomputes them from a few
training batches before each validation and preview (`bn_recalibration_batches`), so the
previews show what the current weights can do.
"""),
    code('''\
display(Image(filename=str(previews[-1])))
'''),
    md("""
## 4. Loss curves

`history.csv` has one row per epoch; `losses.png` draws it (train solid, validation dashed).
`gen_l1_loss` (mean |error| in [-1, 1] units) is the number to watch first. The adversarial
losses go up and down as G and D compete; they do not converge to 0.
"""),
    code('''\
history = callbacks.read_history(run_dir / training.HISTORY_FILE)
print("columns:", list(history))
for epoch, l1, val_l1, disc in zip(history["epoch"], history["gen_l1_loss"], history["val_gen_l1_loss"], history["disc_loss"]):
    print(f"epoch {int(epoch) + 1}: gen_l1 {l1:.4f}  val_gen_l1 {val_l1:.4f}  disc {disc:.4f}")
display(Image(filename=str(run_dir / "losses.png")))
'''),
    md("""
TensorBoard shows the same curves live (`RUN_DIR/logs`):
"""),
    code('''\
# %load_ext tensorboard
# %tensorboard --logdir runs
'''),
    md("""
## 5. Resume

Calling `train` again on the same `RUN_DIR` restores the latest checkpoint (both networks,
both optimizers, the step counter) and continues. To train longer, raise `epochs` and name
it in `explicit`: the settings you changed on purpose. (From the command line: rerun with a
larger `--epochs`.)
"""),
    code('''\
print("latest checkpoint:", training.latest_checkpoint(run_dir))
config.train.epochs = EPOCHS + MORE_EPOCHS
resumed = training.train(config, explicit={("train", "epochs")})
print("resumed from:", resumed.resumed_from)
print(f"steps {result.step} -> {resumed.step}, epochs {result.epochs_done} -> {resumed.epochs_done}")
'''),
    md("""
The counters continue: the history gained rows for the new epochs only, and the previews
continue their numbering.
"""),
    code('''\
history = callbacks.read_history(run_dir / training.HISTORY_FILE)
print("history epochs:", [int(e) + 1 for e in history["epoch"]])
previews = sorted((run_dir / "previews").glob("epoch_*.png"))
print("previews:", [p.name for p in previews])
show_previews(previews[-2:])
'''),
    md("""
Settings that define the model (image size, batch size, networks) cannot change on an
existing run; `train` refuses before touching anything:
"""),
    code('''\
other = copy.deepcopy(config)
other.data.image_size = IMAGE_SIZE * 2
try:
    training.train(other, explicit={("data", "image_size")})
except training.RunConfigError as error:
    print("refused:", error)
'''),
    md("""
**Interrupting** (Jupyter's stop button, Ctrl-C in a terminal) saves a checkpoint before
stopping; checkpoints are also written every `CHECKPOINT_EVERY` steps. Rerun the training cell
with `OVERWRITE = False` to pick up where it stopped.

## Summary

* `train(RunConfig)` → `TrainResult(run_dir, epochs_done, step, resumed_from, export_dir, history)`.
* One `train_step` = one G update and one D update from the same forward pass.
* The run directory keeps `config.json`, `checkpoints/`, `previews/`, `history.csv`,
  `losses.png`, `logs/` and `export/`; calling `train` again resumes.

Next: **04_evaluate_and_export** measures this model and ships it.
"""),
]


# =========================================================================== 04 evaluate + export

NB04 = [
    md("""
# 04 · Evaluate and export

A trained run gets measured, then shipped:

1. its curves (losses and validation metrics),
2. image metrics (PSNR, SSIM, L1, L2) on a batch, next to "do nothing" baselines,
3. the evaluation report (`python -m sketch2color.evaluate`),
4. the SavedModel export, reloaded with `tf.saved_model.load` to colorize sketches of any size.

It uses the run of notebook 03 (`RUN_DIR`); if that does not exist yet, it trains a tiny one.
"""),
    code(INSTALL),
    md("""
## Parameters
"""),
    parameters('''\
RUN_DIR = "runs/notebook-03"   # the run of notebook 03 (trained here if it has no checkpoint)
# Only used to train a run when RUN_DIR has none (same meaning as in notebook 03):
IMAGE_SIZE = 64
BATCH_SIZE = 4
EPOCHS = 2
STEPS_PER_EPOCH = 40
BASE_FILTERS = 32
DATA_DIR = None                # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0
# Evaluation:
MAX_EVAL_IMAGES = None         # None: the whole validation split
FID = False                    # FID/KID need the InceptionV3 ImageNet weights (~90 MB)
INCEPTION_WEIGHTS = None       # a weights file; None: the Keras cache (~/.keras/models)
EXPORT_DIR = None              # None: RUN_DIR/export
MY_SKETCH = None               # path to your own sketch image to colorize, or None
'''),
    md("""
**Real dataset / GPU.** Point `RUN_DIR` at the run trained on the Kaggle data, and set
`FID = True` (with internet, allow the one-time Inception download via
`python -m sketch2color.evaluate ... --download-inception`, or set `INCEPTION_WEIGHTS` to the
file). FID is only meaningful on a few thousand images: the Kaggle validation split (3,545)
is enough; the embedded one (80) is not.
"""),
    code('''\
%matplotlib inline
import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, Markdown, display

from sketch2color import callbacks, data, evaluate, export, metrics, monitoring, training
from sketch2color.colorize import colorize_array
from sketch2color.config import RunConfig, load_json

print("TensorFlow", tf.__version__)
'''),
    code(SHOW_HELPER),
    md("""
## 1. The run

Use `RUN_DIR` if it holds a checkpoint; otherwise train a small run now (a minute or two).
"""),
    code('''\
run_dir = Path(RUN_DIR)
if training.latest_checkpoint(run_dir) is None:
    print(f"{run_dir}: no trained run yet, training a small one")
    config = RunConfig(run_dir=RUN_DIR)
    config.data.data_dir, config.data.image_size, config.data.batch_size = DATA_DIR, IMAGE_SIZE, BATCH_SIZE
    config.data.seed, config.data.embedded_train, config.data.embedded_val = SEED, EMBEDDED_TRAIN, EMBEDDED_VAL
    config.model.generator_kwargs = {"base_filters": BASE_FILTERS}
    config.model.discriminator_kwargs = {"base_filters": BASE_FILTERS}
    config.train.epochs, config.train.steps_per_epoch = EPOCHS, STEPS_PER_EPOCH
    training.train(config)

config = load_json(RunConfig, run_dir / training.CONFIG_FILE)
print("checkpoint:", training.latest_checkpoint(run_dir))
print(f"trained at {config.data.image_size} px, batch {config.data.batch_size}, data: {config.data.data_dir or 'embedded'}")
'''),
    md("""
## 2. Curves

The losses per epoch (`losses.png`), and the validation metrics per epoch (`metrics.png`)
when the run recorded them.
"""),
    code('''\
history = callbacks.read_history(run_dir / training.HISTORY_FILE)
print(len(history.get("epoch", [])), "epochs in history.csv; columns:", list(history))
display(Image(filename=str(run_dir / "losses.png")))

metric_png = run_dir / "metrics.png"
if not metric_png.exists() and any(key in history for key in monitoring.METRIC_KEYS):
    monitoring.plot_metric_curves(run_dir / training.HISTORY_FILE, metric_png)
if metric_png.exists():
    display(Image(filename=str(metric_png)))
else:
    print("no validation metrics in history.csv: section 3 computes them now")
'''),
    md("""
## 3. Image metrics on one batch

`sketch2color.metrics` compares uint8 images on the 0..255 scale, per image:

* **L1**: mean |prediction − target| per pixel and channel; **L2** = MSE;
* **PSNR** = 10 log10(255² / MSE) dB (higher is better);
* **SSIM**: structural similarity, 11x11 Gaussian window, per RGB channel (1 = identical).

`evaluate.load_model` gives the model as a uint8 → uint8 function (the same path as the
exported model). Baseline: the sketch itself as the "colorization". After a few hundred
steps (notebook 03's defaults) the model has learned little more than sky, grass and a hint
of hair color, and may not beat the baselines yet; `python -m sketch2color.train` (10 minutes
on a CPU) or the real dataset on a GPU goes much further.
"""),
    code('''\
model = evaluate.load_model(run_dir)
print("model from its", model.source, "| trained at", model.image_size, "px")

root = data.resolve_data_root(config.data)
val_files = data.find_pair_files(root, config.data.val_fraction, config.data.seed or 0)["val"][:8]
batch_config = dataclasses.replace(config.data, batch_size=len(val_files), cache="none")
sketch_batch, color_batch = next(iter(data.make_dataset(val_files, batch_config, training=False)))
sketches, targets = data.to_uint8(sketch_batch).numpy(), data.to_uint8(color_batch).numpy()  # [-1, 1] -> uint8
predictions = model.predict(sketches)
print("sketches", sketches.shape, sketches.dtype, "-> predictions", predictions.shape, predictions.dtype)

for name, outputs in (("model", predictions), ("sketch as output", sketches)):
    values = metrics.image_metrics(outputs, targets)
    print(f"{name:17s} PSNR {values['psnr'].mean():6.2f} dB  SSIM {values['ssim'].mean():.4f}  "
          f"L1 {values['l1'].mean():6.2f}  L2 {values['mse'].mean():8.1f}")
count = min(4, len(sketches))
fig, axes = plt.subplots(3, count, figsize=(2.6 * count, 8), squeeze=False)
for i in range(count):
    for row, (images, label) in enumerate(((sketches, "sketch"), (predictions, "prediction"), (targets, "ground truth"))):
        axes[row, i].imshow(images[i])
        axes[row, i].set_title(label, fontsize=9)
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()
'''),
    md("""
## 4. The evaluation report

`python -m sketch2color.evaluate` scores a whole split and puts the model next to two
baselines (the sketch as output, a flat mean color). From a terminal:

```bash
python -m sketch2color.evaluate --model runs/notebook-03 --no-fid
```

Here the same through its Python entry point. It writes `report.json`, `report.md` and
`samples.png` into `RUN_DIR/evaluation-val`.
"""),
    code('''\
arguments = ["--model", str(run_dir), "--split", "val", "--out", str(run_dir / "evaluation-val")]
if MAX_EVAL_IMAGES:
    arguments += ["--max-images", str(MAX_EVAL_IMAGES)]
if not FID:
    arguments += ["--no-fid"]
elif INCEPTION_WEIGHTS:
    arguments += ["--inception-weights", str(INCEPTION_WEIGHTS)]
report = evaluate.run(evaluate.parse_args(arguments))
print(json.dumps(report["metrics"]["model"], indent=1))
'''),
    code('''\
report_dir = run_dir / "evaluation-val"
display(Markdown((report_dir / evaluate.REPORT_MD).read_text()))
display(Image(filename=str(report_dir / evaluate.SAMPLES_PNG)))
'''),
    md("""
## 5. Export a SavedModel

`export_run` rebuilds the generator, restores the latest checkpoint and writes
`saved_model/` (serving signature: uint8 `sketch [B, H, W, 3]` of any size → uint8 `color`
of the same size) and `generator.keras`. `train` already exported at the end; this is the
same, at any time (`python -m sketch2color.export RUN_DIR`).
"""),
    code('''\
export_dir = export.export_run(run_dir, EXPORT_DIR)
for path in sorted(export_dir.rglob("*")):
    if path.is_file():
        print(f"{str(path.relative_to(export_dir)):55s} {path.stat().st_size / 1024:9.1f} kB")
'''),
    md("""
## 6. Reload and colorize

A fresh `tf.saved_model.load` needs neither sketch2color nor the training code: only
TensorFlow. The model scales the sketch so its longer side is the training size, pads with
white, colorizes, and scales back.
"""),
    code('''\
colorizer = tf.saved_model.load(str(export_dir / export.SAVED_MODEL_DIR))
print("signature:", colorizer.signatures["serving_default"].structured_input_signature)
print("trained at:", int(colorizer.image_size.numpy()), "px")

sketch_full, color_full = data.read_pair(val_files[0])  # full resolution, e.g. 512x512
colorized = colorizer.serve(tf.constant(sketch_full[None]))["color"][0].numpy()
print("sketch", sketch_full.shape, sketch_full.dtype, "-> color", colorized.shape, colorized.dtype)
show([sketch_full, colorized, color_full], ["sketch", "colorized (SavedModel)", "ground truth"], size=3.5)
'''),
    md("""
A **non-square** crop works the same way: the output has the input's shape.
"""),
    code('''\
height, width = sketch_full.shape[:2]
crop = sketch_full[height // 8 : height - height // 8, : width // 2]  # a tall strip
colorized_crop = colorize_array(colorizer, crop)  # = colorizer.serve(crop[None])["color"][0]
print("crop", crop.shape, "-> color", colorized_crop.shape)
show([crop, colorized_crop], ["non-square sketch", "colorized"], size=3.5)
'''),
    md("""
Your own sketch (dark lines on white; a pair file has its sketch half taken). From a
terminal: `python -m sketch2color.colorize my_sketch.png --model RUN_DIR --out colorized/`.
"""),
    code('''\
if MY_SKETCH:
    from sketch2color.colorize import sketch_from_file

    mine = sketch_from_file(Path(MY_SKETCH).expanduser())
    show([mine, colorize_array(colorizer, mine)], ["my sketch", "colorized"], size=4)
else:
    print("set MY_SKETCH to a file to colorize it")
'''),
    md("""
## Summary

* `evaluate.run(...)` / `python -m sketch2color.evaluate`: PSNR, SSIM, L1, L2 (and FID/KID with
  Inception weights) next to baselines, in `report.json` / `report.md` / `samples.png`.
* `export.export_run(RUN_DIR)` / `python -m sketch2color.export`: SavedModel + `.keras`.
* `tf.saved_model.load(...).serve(uint8 [B, H, W, 3])["color"]`: any size in, same size out.
"""),
]


NOTEBOOKS = {
    "01_data_pipeline.ipynb": NB01,
    "02_models.ipynb": NB02,
    "03_training.ipynb": NB03,
    "04_evaluate_and_export.ipynb": NB04,
}


def build(cells) -> nbformat.NotebookNode:
    """A notebook without outputs or execution counts, with the tagged parameters cell."""
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for entry in cells:
        if entry[0] == "markdown":
            cell = new_markdown_cell(entry[1])
        else:
            cell = new_code_cell(entry[1])
            if entry[2]:
                cell.metadata["tags"] = list(entry[2])
        notebook.cells.append(cell)
    # Stable cell ids, so regenerating an unchanged notebook gives an identical file.
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    nbformat.validate(notebook)
    return notebook


def render(cells) -> str:
    return nbformat.writes(build(cells)) + ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(cells)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("out of date (run python notebooks/build_notebooks.py):", ", ".join(stale), file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(NOTEBOOKS)} notebooks up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
