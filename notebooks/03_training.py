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
# # 03 · Training: the pix2pix step, a short run, previews, resume
#
# `sketch2color.training.train(RunConfig)` is the whole training run (the same as
# `python -m sketch2color.train`): it builds G and D, fits them with a custom `train_step`,
# writes checkpoints, previews and loss curves into a **run directory**, exports the model, and
# resumes when called again on the same directory.

# %%
# Colab / Kaggle: uncomment to install sketch2color (the clone also brings data_scripts/),
# then restart the runtime if it asks. <repository URL> is this project's git URL.
# # !git clone <repository URL> sketch2color && pip install -q -e ./sketch2color

# %% [markdown]
# ## Parameters
#
# The defaults train small networks (32 base filters) at 64 px for a few hundred steps: about
# 3-5 minutes on 2 CPU cores, enough to see sky, grass and hair colors appear.

# %% tags=["parameters"]
IMAGE_SIZE = 64  # training resolution (multiple of 16)
BATCH_SIZE = 4
EPOCHS = 4  # first training run
MORE_EPOCHS = 1  # added by the resume section
STEPS_PER_EPOCH = 50  # None: one pass over the training pairs
BASE_FILTERS = 32  # network width (pix2pix: 64)
CHECKPOINT_EVERY = 25  # also checkpoint every N steps (plus at every epoch end)
DATA_DIR = None  # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0
RUN_DIR = "runs/notebook-03"
OVERWRITE = True  # start from scratch: delete RUN_DIR first (False: continue a previous run)

# %% [markdown]
# **Real dataset / GPU** (the paper's setup): `DATA_DIR = "~/data/anime-pairs"`,
# `IMAGE_SIZE = 256`, `BATCH_SIZE = 1`, `BASE_FILTERS = 64`, `EPOCHS = 150`,
# `STEPS_PER_EPOCH = None` (14,224 steps per epoch), `CHECKPOINT_EVERY = 500`, and a new
# `RUN_DIR`. That needs a GPU (minutes per epoch; about 5 hours per epoch on 2 CPU cores). On
# Colab, put `RUN_DIR` on Google Drive so a disconnect loses nothing: rerunning resumes.

# %%
# %matplotlib inline
import copy
import inspect
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from sketch2color import runs, training
from sketch2color.config import RunConfig, to_dict
from sketch2color.data import load_datasets
from sketch2color.training.gan import Pix2Pix

print("TensorFlow", tf.__version__, "| devices:", [d.device_type for d in tf.config.list_physical_devices()])

# %% [markdown]
# ## 1. The run configuration
#
# `RunConfig` holds three dataclasses, `data`, `model` and `train`; the run saves it as
# `config.json` in `RUN_DIR`.

# %%
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

# %% [markdown]
# ## 2. The training step
#
# `Pix2Pix` is a `keras.Model` whose `train_step` updates **both** networks from one forward
# pass, under two gradient tapes:
#
# * G: `gen_total_loss = BCE(D(sketch, G(sketch)), 1) + 100 * L1(color, G(sketch))`: fool D and
#   stay close to the target;
# * D: `disc_loss = 0.5 * (BCE(D(sketch, color), 1) + BCE(D(sketch, G(sketch)), 0))`.
#
# Losses are computed per example and averaged over the global batch, so the same step runs
# on several GPUs. The source, as installed:

# %%
print(inspect.getsource(Pix2Pix.train_step))

# %%
print(inspect.getsource(Pix2Pix._per_example_losses))

# %% [markdown]
# A quick check of one step: build the GAN as `train` does and call `train_step` on one batch
# `[B, S, S, 3]` (eagerly; `fit` calls it inside a `tf.function`). It returns the four running
# losses, and both optimizers have taken one step.

# %%
splits = load_datasets(config.data)
gan = training.build_gan(config, steps_per_epoch=STEPS_PER_EPOCH or 1)
sketch, color = next(iter(splits.train))
print("batch", sketch.shape, color.shape)
step_logs = gan.train_step((sketch, color))
print({name: round(float(value), 4) for name, value in step_logs.items()})
print("steps: G", int(gan.g_optimizer.iterations), "| D", int(gan.d_optimizer.iterations))
del gan  # train() below builds its own

# %% [markdown]
# ## 3. A short training run
#
# One call. Per epoch it prints the training and validation losses and images/s; after each
# epoch it saves a checkpoint, a preview (the same validation sketches | prediction | ground
# truth) and the loss curves.

# %%
result = training.train(config)
print(
    result.run_dir,
    "| epochs done:",
    result.epochs_done,
    "| steps:",
    result.step,
    "| export:",
    result.export_dir,
)

# %% [markdown]
# The run directory:

# %%
for path in sorted(run_dir.rglob("*")):
    if path.is_file() and "logs" not in path.parts and "saved_model" not in path.parts:
        print(f"{str(path.relative_to(run_dir)):45s} {path.stat().st_size / 1024:8.1f} kB")


# %% [markdown]
# **Previews**, one per epoch (`previews/epoch_NNNN.png`): the predictions (middle column) move
# from gray toward the ground truth. The generator runs with `training=False` here, as in the
# exported model.


# %%
def show_previews(paths, max_shown=5):
    """Preview PNGs side by side (first, last and evenly spaced ones in between)."""
    paths = sorted(paths)
    picks = sorted({round(x) for x in np.linspace(0, len(paths) - 1, min(max_shown, len(paths)))})
    fig, axes = plt.subplots(1, len(picks), figsize=(3.4 * len(picks), 4.8), squeeze=False)
    for axis, index in zip(axes[0], picks, strict=True):
        axis.imshow(plt.imread(paths[index]))
        axis.set_title(paths[index].name, fontsize=9)
        axis.axis("off")
    plt.tight_layout()
    plt.show()


previews = sorted((run_dir / "previews").glob("epoch_*.png"))
print(len(previews), "previews:", [p.name for p in previews])
show_previews(previews)

# %% [markdown]
# The last one at full size. Previews use batch norm's *moving* statistics (`training=False`),
# which would trail a generator that still changes fast; the run recomputes them from a few
# training batches before each validation and preview (`bn_recalibration_batches`), so the
# previews show what the current weights can do.

# %%
display(Image(filename=str(previews[-1])))

# %% [markdown]
# ## 4. Loss curves
#
# `history.csv` has one row per epoch; `losses.png` draws it (train solid, validation dashed).
# `gen_l1_loss` (mean |error| in [-1, 1] units) is the number to watch first. The adversarial
# losses go up and down as G and D compete; they do not converge to 0.

# %%
history = runs.read_history(run_dir / runs.HISTORY_FILE)
print("columns:", list(history))
for epoch, l1, val_l1, disc in zip(
    history["epoch"], history["gen_l1_loss"], history["val_gen_l1_loss"], history["disc_loss"], strict=True
):
    print(f"epoch {int(epoch) + 1}: gen_l1 {l1:.4f}  val_gen_l1 {val_l1:.4f}  disc {disc:.4f}")
display(Image(filename=str(run_dir / "losses.png")))

# %% [markdown]
# TensorBoard shows the same curves live (`RUN_DIR/logs`):

# %%
# # %load_ext tensorboard
# # %tensorboard --logdir runs

# %% [markdown]
# ## 5. Resume
#
# Calling `train` again on the same `RUN_DIR` restores the latest checkpoint (both networks,
# both optimizers, the step counter) and continues. To train longer, raise `epochs` and name
# it in `explicit`: the settings you changed on purpose. (From the command line: rerun with a
# larger `--epochs`.)

# %%
print("latest checkpoint:", runs.latest_checkpoint(run_dir))
config.train.epochs = EPOCHS + MORE_EPOCHS
resumed = training.train(config, explicit={("train", "epochs")})
print("resumed from:", resumed.resumed_from)
print(f"steps {result.step} -> {resumed.step}, epochs {result.epochs_done} -> {resumed.epochs_done}")

# %% [markdown]
# The counters continue: the history gained rows for the new epochs only, and the previews
# continue their numbering.

# %%
history = runs.read_history(run_dir / runs.HISTORY_FILE)
print("history epochs:", [int(e) + 1 for e in history["epoch"]])
previews = sorted((run_dir / "previews").glob("epoch_*.png"))
print("previews:", [p.name for p in previews])
show_previews(previews[-2:])

# %% [markdown]
# Settings that define the model (image size, batch size, networks) cannot change on an
# existing run; `train` refuses before touching anything:

# %%
other = copy.deepcopy(config)
other.data.image_size = IMAGE_SIZE * 2
try:
    training.train(other, explicit={("data", "image_size")})
except runs.RunConfigError as error:
    print("refused:", error)

# %% [markdown]
# **Interrupting** (Jupyter's stop button, Ctrl-C in a terminal) saves a checkpoint before
# stopping; checkpoints are also written every `CHECKPOINT_EVERY` steps. Rerun the training cell
# with `OVERWRITE = False` to pick up where it stopped.
#
# ## Summary
#
# * `train(RunConfig)` → `TrainResult(run_dir, epochs_done, step, resumed_from, export_dir, history)`.
# * One `train_step` = one G update and one D update from the same forward pass.
# * The run directory keeps `config.json`, `checkpoints/`, `previews/`, `history.csv`,
#   `losses.png`, `logs/` and `export/`; calling `train` again resumes.
#
# Next: **04_evaluate_and_export** measures this model and ships it.
