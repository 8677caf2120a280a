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
# # 04 · Evaluate and export
#
# A trained run gets measured, then shipped:
#
# 1. its curves (losses and validation metrics),
# 2. image metrics (PSNR, SSIM, L1, L2) on a batch, next to "do nothing" baselines,
# 3. the evaluation report (`python -m sketch2color.evaluate`),
# 4. the SavedModel export, reloaded with `tf.saved_model.load` to colorize sketches of any size.
#
# It uses the run of notebook 03 (`RUN_DIR`); if that does not exist yet, it trains a tiny one.

# %%
# Colab / Kaggle: uncomment to install sketch2color (the clone also brings data_scripts/),
# then restart the runtime if it asks. <repository URL> is this project's git URL.
# # !git clone <repository URL> sketch2color && pip install -q -e ./sketch2color

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
RUN_DIR = "runs/notebook-03"  # the run of notebook 03 (trained here if it has no checkpoint)
# Only used to train a run when RUN_DIR has none (same meaning as in notebook 03):
IMAGE_SIZE = 64
BATCH_SIZE = 4
EPOCHS = 2
STEPS_PER_EPOCH = 40
BASE_FILTERS = 32
DATA_DIR = None  # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0
# Evaluation:
MAX_EVAL_IMAGES = None  # None: the whole validation split
FID = False  # FID/KID need the InceptionV3 ImageNet weights (~90 MB)
INCEPTION_WEIGHTS = None  # a weights file; None: the Keras cache (~/.keras/models)
EXPORT_DIR = None  # None: RUN_DIR/export
MY_SKETCH = None  # path to your own sketch image to colorize, or None

# %% [markdown]
# **Real dataset / GPU.** Point `RUN_DIR` at the run trained on the Kaggle data, and set
# `FID = True` (with internet the Inception weights are downloaded once into the Keras cache;
# offline, set `INCEPTION_WEIGHTS` to a copy of the file). FID is only meaningful on a few
# thousand images: the Kaggle validation split (3,545) is enough; the embedded one (80) is not.

# %%
# %matplotlib inline
import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, Markdown, display

from sketch2color import data, export, runs, training
from sketch2color.config import RunConfig, load_json
from sketch2color.evaluation import evaluate, metrics, report
from sketch2color.export import colorize_array, sketch_from_file
from sketch2color.training import plots

print("TensorFlow", tf.__version__)


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
# ## 1. The run
#
# Use `RUN_DIR` if it holds a checkpoint; otherwise train a small run now (a minute or two).

# %%
run_dir = Path(RUN_DIR)
if runs.latest_checkpoint(run_dir) is None:
    print(f"{run_dir}: no trained run yet, training a small one")
    config = RunConfig(run_dir=RUN_DIR)
    config.data.data_dir, config.data.image_size, config.data.batch_size = DATA_DIR, IMAGE_SIZE, BATCH_SIZE
    config.data.seed = SEED
    config.data.embedded_train, config.data.embedded_val = EMBEDDED_TRAIN, EMBEDDED_VAL
    config.model.generator_kwargs = {"base_filters": BASE_FILTERS}
    config.model.discriminator_kwargs = {"base_filters": BASE_FILTERS}
    config.train.epochs, config.train.steps_per_epoch = EPOCHS, STEPS_PER_EPOCH
    training.train(config)

config = load_json(RunConfig, run_dir / runs.CONFIG_FILE)
print("checkpoint:", runs.latest_checkpoint(run_dir))
print(
    f"trained at {config.data.image_size} px, batch {config.data.batch_size}, "
    f"data: {config.data.data_dir or 'embedded'}"
)

# %% [markdown]
# ## 2. Curves
#
# The losses per epoch (`losses.png`), and the validation metrics per epoch (`metrics.png`)
# when the run recorded them.

# %%
history = runs.read_history(run_dir / runs.HISTORY_FILE)
print(len(history.get("epoch", [])), "epochs in history.csv; columns:", list(history))
display(Image(filename=str(run_dir / "losses.png")))

metric_png = run_dir / "metrics.png"
if not metric_png.exists() and any(key in history for key in plots.METRIC_KEYS):
    plots.plot_metric_curves(run_dir / runs.HISTORY_FILE, metric_png)
if metric_png.exists():
    display(Image(filename=str(metric_png)))
else:
    print("no validation metrics in history.csv: section 3 computes them now")

# %% [markdown]
# ## 3. Image metrics on one batch
#
# `sketch2color.evaluation.metrics` compares uint8 images on the 0..255 scale, per image:
#
# * **L1**: mean |prediction − target| per pixel and channel; **L2** = MSE;
# * **PSNR** = 10 log10(255² / MSE) dB (higher is better);
# * **SSIM**: structural similarity, 11x11 Gaussian window, per RGB channel (1 = identical).
#
# `evaluate.load_model` gives the model as a uint8 → uint8 function (the same path as the
# exported model). Baseline: the sketch itself as the "colorization". After a few hundred
# steps (notebook 03's defaults) the model has learned little more than sky, grass and a hint
# of hair color, and may not beat the baselines yet; `python -m sketch2color.train` (10 minutes
# on a CPU) or the real dataset on a GPU goes much further.

# %%
model = evaluate.load_model(run_dir)
print("model from its", model.source, "| trained at", model.image_size, "px")

root = data.resolve_data_root(config.data)
val_files = data.find_pair_files(root, config.data.val_fraction, config.data.seed or 0)["val"][:8]
batch_config = dataclasses.replace(config.data, batch_size=len(val_files), cache="none")
sketch_batch, color_batch = next(iter(data.make_dataset(val_files, batch_config, training=False)))
# [-1, 1] -> uint8
sketches, targets = data.to_uint8(sketch_batch).numpy(), data.to_uint8(color_batch).numpy()
predictions = model.predict(sketches)
print("sketches", sketches.shape, sketches.dtype, "-> predictions", predictions.shape, predictions.dtype)

for name, outputs in (("model", predictions), ("sketch as output", sketches)):
    values = metrics.image_metrics(outputs, targets)
    print(
        f"{name:17s} PSNR {values['psnr'].mean():6.2f} dB  SSIM {values['ssim'].mean():.4f}  "
        f"L1 {values['l1'].mean():6.2f}  L2 {values['mse'].mean():8.1f}"
    )
count = min(4, len(sketches))
fig, axes = plt.subplots(3, count, figsize=(2.6 * count, 8), squeeze=False)
for i in range(count):
    for row, (images, label) in enumerate(
        ((sketches, "sketch"), (predictions, "prediction"), (targets, "ground truth"))
    ):
        axes[row, i].imshow(images[i])
        axes[row, i].set_title(label, fontsize=9)
        axes[row, i].axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. The evaluation report
#
# `python -m sketch2color.evaluate` scores a whole split and puts the model next to two
# baselines (the sketch as output, a flat mean color). From a terminal:
#
# ```bash
# python -m sketch2color.evaluate --model runs/notebook-03 --no-fid
# ```
#
# Here the same from Python: `evaluate.evaluate_model` takes the flags as arguments. It writes
# `report.json`, `report.md` and `samples.png` into `RUN_DIR/evaluation-val`.

# %%
results, report_dir = evaluate.evaluate_model(
    run_dir,
    split="val",
    out=run_dir / "evaluation-val",
    max_images=MAX_EVAL_IMAGES or None,
    fid=FID,
    inception_weights=str(INCEPTION_WEIGHTS) if INCEPTION_WEIGHTS else None,
)
print(json.dumps(results["metrics"]["model"], indent=1))

# %%
display(Markdown((report_dir / report.REPORT_MD).read_text()))
display(Image(filename=str(report_dir / report.SAMPLES_PNG)))

# %% [markdown]
# ## 5. Export a SavedModel
#
# `export_run` rebuilds the generator, restores the latest checkpoint and writes
# `saved_model/` (serving signature: uint8 `sketch [B, H, W, 3]` of any size → uint8 `color`
# of the same size) and `generator.keras`. `train` already exported at the end; this is the
# same, at any time (`python -m sketch2color.export RUN_DIR`).

# %%
export_dir = export.export_run(run_dir, EXPORT_DIR)
for path in sorted(export_dir.rglob("*")):
    if path.is_file():
        print(f"{str(path.relative_to(export_dir)):55s} {path.stat().st_size / 1024:9.1f} kB")

# %% [markdown]
# ## 6. Reload and colorize
#
# A fresh `tf.saved_model.load` needs neither sketch2color nor the training code: only
# TensorFlow. The model scales the sketch so its longer side is the training size, pads with
# white, colorizes, and scales back.

# %%
colorizer = tf.saved_model.load(str(export_dir / export.SAVED_MODEL_DIR))
print("signature:", colorizer.signatures["serving_default"].structured_input_signature)
print("trained at:", int(colorizer.image_size.numpy()), "px")

sketch_full, color_full = data.read_pair(val_files[0])  # full resolution, e.g. 512x512
colorized = colorizer.serve(tf.constant(sketch_full[None]))["color"][0].numpy()
print("sketch", sketch_full.shape, sketch_full.dtype, "-> color", colorized.shape, colorized.dtype)
show([sketch_full, colorized, color_full], ["sketch", "colorized (SavedModel)", "ground truth"], size=3.5)

# %% [markdown]
# A **non-square** crop works the same way: the output has the input's shape.

# %%
height, width = sketch_full.shape[:2]
crop = sketch_full[height // 8 : height - height // 8, : width // 2]  # a tall strip
colorized_crop = colorize_array(colorizer, crop)  # = colorizer.serve(crop[None])["color"][0]
print("crop", crop.shape, "-> color", colorized_crop.shape)
show([crop, colorized_crop], ["non-square sketch", "colorized"], size=3.5)

# %% [markdown]
# Your own sketch (dark lines on white; a pair file has its sketch half taken). From a
# terminal: `python -m sketch2color.colorize my_sketch.png --model RUN_DIR --out colorized/`.

# %%
if MY_SKETCH:
    mine = sketch_from_file(Path(MY_SKETCH).expanduser())
    show([mine, colorize_array(colorizer, mine)], ["my sketch", "colorized"], size=4)
else:
    print("set MY_SKETCH to a file to colorize it")

# %% [markdown]
# ## Summary
#
# * `evaluate.run(...)` / `python -m sketch2color.evaluate`: PSNR, SSIM, L1, L2 (and FID/KID with
#   Inception weights) next to baselines, in `report.json` / `report.md` / `samples.png`.
# * `export.export_run(RUN_DIR)` / `python -m sketch2color.export`: SavedModel + `.keras`.
# * `tf.saved_model.load(...).serve(uint8 [B, H, W, 3])["color"]`: any size in, same size out.
