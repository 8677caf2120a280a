# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · The data pipeline: from pair files to training batches
#
# sketch2color learns to turn a line-art **sketch** into a **colored** illustration (pix2pix:
# a U-Net generator against a PatchGAN discriminator). This notebook follows the data:
#
# 1. the pair file format (one image = color | sketch),
# 2. the train/validation split,
# 3. the `tf.data` pipeline and its batches,
# 4. augmentation (the same geometry for sketch and color),
# 5. the embedded procedural dataset (no download needed),
# 6. the real Kaggle dataset, and pairs made from your own art (XDoG, Canny, gray).

# %%
# Colab / Kaggle: uncomment to install sketch2color (the clone also brings data_scripts/),
# then restart the runtime if it asks. <repository URL> is this project's git URL.
# # !git clone <repository URL> sketch2color && pip install -q -e ./sketch2color

# %% [markdown]
# ## Parameters
#
# The defaults run on a laptop CPU in a minute or two (the first run also generates the
# embedded dataset, 800 + 80 pairs, about 20-60 s; it is cached in `~/.cache/sketch2color`, or in
# `$SKETCH2COLOR_CACHE`).

# %% tags=["parameters"]
IMAGE_SIZE = 256  # pixels per side of a training image (pix2pix: 256; multiple of 16)
BATCH_SIZE = 4  # pairs per batch
DATA_DIR = None  # None: the embedded procedural dataset; else a folder of pair files
EMBEDDED_TRAIN = 800  # embedded dataset size (used when DATA_DIR is None)
EMBEDDED_VAL = 80
SEED = 0  # makes the split, the shuffling and the augmentation reproducible
N_AUGMENTATIONS = 4  # how many random augmentations of one pair to show
WORK_DIR = "runs/notebook-01"  # scratch files written by this notebook

# %% [markdown]
# **Real dataset / GPU.** Set `DATA_DIR` to the Kaggle folder (e.g. `"~/data/anime-pairs"`, see
# section 6) and keep `IMAGE_SIZE = 256`. Nothing here needs a GPU; on the real data the first
# pass decodes 1024x512 PNGs, so iterating the training split once takes a minute or two.

# %%
# %matplotlib inline
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
from sketch2color import data
from sketch2color.config import DataConfig
from sketch2color.data import embedded, sketch, synthetic

print("sketch2color", sketch2color.__version__, "| TensorFlow", tf.__version__)
work_dir = Path(WORK_DIR)
work_dir.mkdir(parents=True, exist_ok=True)


# %%
def show(images, titles=None, size=3.0):
    """Images side by side; float images in [-1, 1] are displayed as x * 0.5 + 0.5."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for axis, image, title in zip(axes[0], images, titles or [""] * len(images), strict=True):
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image * 0.5 + 0.5, 0.0, 1.0)
        axis.imshow(image)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    plt.tight_layout()
    plt.show()


# %% [markdown]
# ## 1. The pair format
#
# A *pair file* is one RGB image twice as wide as it is tall: the **color** illustration on the
# left, its **sketch** on the right (the layout of Kaggle's "Anime Sketch Colorization Pair",
# 1024x512). `DataConfig` describes where pairs come from; `resolve_data_root` returns the
# folder, generating the embedded dataset on first use.

# %%
config = DataConfig(
    data_dir=DATA_DIR,
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    seed=SEED,
    embedded_train=EMBEDDED_TRAIN,
    embedded_val=EMBEDDED_VAL,
)
root = data.resolve_data_root(config)
print(root)

# %%
files = data.find_pair_files(root, config.val_fraction, config.seed)
pair_path = files["train"][0]
pair = data.read_image_rgb(pair_path)
print(pair_path.name, pair.shape, pair.dtype)  # (512, 1024, 3) uint8 for the embedded data

plt.figure(figsize=(10, 5))
plt.imshow(pair)
plt.title(f"{pair_path.name}: color | sketch, {pair.shape[1]}x{pair.shape[0]}")
plt.axis("off")
plt.show()

# %% [markdown]
# `read_pair` splits it into `(sketch, color)`, each `[H, H, 3]` uint8. The sketch is the
# model's **input**, the color its **target**; `sketch_side="right"` (the default) says which
# half is which.

# %%
sketch_half, color_half = data.read_pair(pair_path, sketch_side=config.sketch_side)
print("sketch", sketch_half.shape, "| color", color_half.shape)
show([sketch_half, color_half], ["input: sketch (right half)", "target: color (left half)"], size=4)

# %% [markdown]
# ## 2. The train / validation split
#
# The Kaggle folder comes with `train/` and `val/`, used as they are (the embedded dataset has
# the same layout). A **flat folder** of pairs is split by a hash of each file name, so a file
# keeps its split when you add more files later.

# %%
print({split: len(paths) for split, paths in files.items()})
for i in range(12, 28):
    name = f"drawing_{i:03d}.png"
    print(name, "->", data.split_of(name, val_fraction=0.1, seed=0), end="   " if i % 4 != 3 else "\n")

# %% [markdown]
# Check: put 3/4 of some pairs into a flat folder, split it, add the rest, split again; no file
# changes sides.

# %%
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

# %% [markdown]
# ## 3. From files to batches
#
# `load_datasets` checks every file (a broken or non-2:1 file stops with its name), then builds:
#
# ```
# list files -> decode (parallel) -> split halves -> resize to IMAGE_SIZE -> cache (uint8)
#   -> shuffle -> augment -> batch -> prefetch
# ```
#
# Batches are `(sketch, color)`, each `float32 [BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3]` in
# **[-1, 1]** (the generator's tanh range); display them with `x * 0.5 + 0.5`. The first batch
# takes longest: the shuffle buffer is filled with decoded pairs first (later epochs read the
# cache).

# %%
splits = data.load_datasets(config)
print(len(splits.train_files), "train pairs,", len(splits.val_files), "validation pairs")

sketch_batch, color_batch = next(iter(splits.train))
print(
    "sketch",
    sketch_batch.shape,
    sketch_batch.dtype.name,
    "| color",
    color_batch.shape,
    color_batch.dtype.name,
)
print(f"values in {float(tf.reduce_min(color_batch)):.2f} .. {float(tf.reduce_max(color_batch)):.2f}")

# %%
count = min(4, BATCH_SIZE)
fig, axes = plt.subplots(2, count, figsize=(3 * count, 6), squeeze=False)
for i in range(count):
    for row, (images, label) in enumerate(((sketch_batch, "sketch"), (color_batch, "color"))):
        axes[row, i].imshow(np.clip(images[i] * 0.5 + 0.5, 0, 1))  # [-1, 1] -> [0, 1]
        axes[row, i].set_title(f"train {label} {i}", fontsize=9)
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The validation split is neither shuffled nor augmented: the same images in the same order
# every epoch, so validation losses and previews are comparable across epochs.

# %%
val_sketch, val_color = next(iter(splits.val))
print("validation batch", val_sketch.shape, "| first file:", splits.val_files[0].name)

# %% [markdown]
# ## 4. Augmentation: one geometry for both halves
#
# `augment_pair` stacks sketch and color into one `[H, W, 6]` tensor, so every geometric
# operation moves both identically:
#
# * default (pix2pix): upscale by 286/256, random crop back, horizontal flip;
# * optional: rotation / shear / zoom / shift (`affine_prob`, ...), noise on the sketch,
#   color jitter on the target.
#
# Each seed is one augmentation. Below, the same pair several times; the third row draws the
# sketch's lines over the color (`min(sketch, color)`): lines sit on the color edges, so the
# halves stay aligned.

# %%
sketch0 = data.to_unit_range(data.resize_uint8(tf.constant(sketch_half), IMAGE_SIZE))  # [S, S, 3] in [-1, 1]
color0 = data.to_unit_range(data.resize_uint8(tf.constant(color_half), IMAGE_SIZE))
print("one pair:", sketch0.shape, color0.shape)

augmentations = {
    "default: jitter + flip": DataConfig(image_size=IMAGE_SIZE),
    "strong: + rotation/shear/zoom/shift, sketch noise, color jitter": DataConfig(
        image_size=IMAGE_SIZE,
        affine_prob=1.0,
        rotation=15,
        shear=8,
        zoom=0.15,
        shift=0.08,
        sketch_noise_prob=1.0,
        color_jitter_prob=1.0,
    ),
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

# %% [markdown]
# A numeric check of the same thing: augment a pair whose two halves are the *same* image. If
# both halves get the same geometry, the outputs are identical.

# %%
for k in range(N_AUGMENTATIONS):
    s, c = data.augment_pair(
        sketch0, sketch0, tf.constant([SEED, k], tf.int64), DataConfig(image_size=IMAGE_SIZE)
    )
    print(f"seed {k}: max |sketch - color| = {float(tf.reduce_max(tf.abs(s - c))):.1f}")

# %% [markdown]
# ## 5. The embedded dataset
#
# Without `DATA_DIR`, sketch2color draws its own pairs (`sketch2color.data.synthetic`): cel-shaded
# anime portraits (70 %) and landscapes (30 %), with clean outlines. The colors follow rules a
# model can learn **from the lines alone**, for example:
#
# | visible in the sketch | color |
# |---|---|
# | spiky hair / long straight / twin tails | red-orange / deep blue / pink |
# | bob / ponytail / short | brown / blonde / teal |
# | sailor collar / blazer + tie / round neck | white + navy / dark green / light blue |
# | hood / turtleneck | lavender / wine red |
# | face, neck | skin tones; pink blush under cheek hatching |
# | no lines above the horizon / ground / peaks | blue sky / green grass / blue-gray mountains with snow |
#
# Every color is jittered a little, and the light comes from the upper left (shadows on the
# lower right). One portrait per hair style:

# %%
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
    axes[0, i].set_title(f"{style} hair\n{meta['collar']}", fontsize=9)
    for row in range(2):
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# `render_pair(seed)` is deterministic: the same seed gives the same pixels on every machine.
# The cached dataset records how it was made:

# %%
print(
    (root / embedded.MARKER_NAME).read_text()
    if (root / embedded.MARKER_NAME).exists()
    else f"{root}: not the embedded dataset"
)
same = np.array_equal(synthetic.render_pair(7, height=128), synthetic.render_pair(7, height=128))
print("render_pair(7) twice -> identical:", same)

# %% [markdown]
# ## 6. The real dataset: Kaggle "Anime Sketch Colorization Pair"
#
# 14,224 train + 3,545 validation pairs (about 1.5 GB). With a Kaggle API token
# (kaggle.com → Settings → API):
#
# ```bash
# pip install kagglehub                      # or: pip install -e ".[kaggle]"
# python data_scripts/download_kaggle.py --dest ~/data/anime-pairs
# python data_scripts/verify_dataset.py ~/data/anime-pairs --preview preview.png
# ```
#
# then set `DATA_DIR = "~/data/anime-pairs"` above (the folder as downloaded: `train/` + `val/`,
# also nested one level). On Kaggle itself, add the dataset to the notebook and point
# `DATA_DIR` at `/kaggle/input/anime-sketch-colorization-pair`.
#
# `verify_dataset.py` counts the pairs, lists bad files and draws what the model will see as
# input and target. Here it runs on the current dataset:

# %%
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

# %% [markdown]
# ## 7. Pairs from your own color art
#
# Any folder of color illustrations becomes pairs by **extracting** a sketch. Three methods
# (`sketch2color.data.sketch`), compared here with the true sketch:
#
# * **xdog** (default): soft, ink-like lines, tuned to look like the Kaggle sketches;
# * **canny**: 1-pixel edges, broken where colors have similar brightness;
# * **gray**: the grayscale image, shading and all (a weak baseline: the model only tints).

# %%
extracted = {name: sketch.extract_sketch(color_half, name) for name in ("xdog", "canny", "gray")}
print({name: image.shape for name, image in extracted.items()})
show([color_half, sketch_half, *extracted.values()], ["color", "true sketch", "xdog", "canny", "gray"])

# %% [markdown]
# `data_scripts/make_pairs.py` does this for a folder (center-crop to a square, resize, write
# `train/` and `val/` pair files):
#
# ```bash
# python data_scripts/make_pairs.py my_color_art/ my_pairs/ --method xdog --size 512
# ```
#
# Here on a few color images (cut to a non-square shape, like real art):

# %%
art_dir, pairs_dir = work_dir / "my_color_art", work_dir / "my_pairs"
for folder in (art_dir, pairs_dir):
    shutil.rmtree(folder, ignore_errors=True)
art_dir.mkdir(parents=True)
for i, path in enumerate(files["val"][:6]):
    _, color = data.read_pair(path)
    PILImage.fromarray(color[:, : color.shape[1] * 3 // 4]).save(art_dir / f"art_{i}.png")  # 4:3 portrait

if scripts.is_dir():
    command = [
        sys.executable,
        str(scripts / "make_pairs.py"),
        str(art_dir),
        str(pairs_dir),
        "--method",
        "xdog",
        "--size",
        "256",
        "--val-fraction",
        "0.2",
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    print(completed.stdout[-2000:] or completed.stderr[-2000:])
    made = data.find_pair_files(pairs_dir)
    print({split: len(paths) for split, paths in made.items()})
    made_pair = data.read_image_rgb((made["train"] + made["val"])[0])
    print("pair file:", made_pair.shape)
    show([made_pair], ["made_pairs output: color | xdog sketch"], size=6)

# %% [markdown]
# ## Summary
#
# * Pair file: color | sketch, width = 2 x height; `read_pair` → `(sketch, color)` uint8.
# * Splits: `train/` + `val/` as given, else a stable hash of the file name.
# * `load_datasets(DataConfig(...))` → batches `[B, S, S, 3]` float32 in [-1, 1], augmented with
#   one geometry for both halves.
# * No data? The embedded dataset. Real data: `download_kaggle.py`; own art: `make_pairs.py`.
#
# Next: **02_models** builds the generator and the discriminator that consume these batches.
