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
# # 02 · The models: U-Net generator and 70x70 PatchGAN
#
# pix2pix has two networks:
#
# * the **generator** G, a U-Net: sketch `[B, S, S, 3]` → color `[B, S, S, 3]` in [-1, 1];
# * the **discriminator** D, a PatchGAN: (sketch, image) → a grid of real/fake logits, one per
#   70x70 patch (`[B, 30, 30, 1]` at 256 px).
#
# We build both, trace their shapes, look at what one D logit sees, and run the untrained
# networks once.

# %%
# Colab / Kaggle: uncomment to install sketch2color (the clone also brings data_scripts/),
# then restart the runtime if it asks. <repository URL> is this project's git URL.
# # !git clone <repository URL> sketch2color && pip install -q -e ./sketch2color

# %% [markdown]
# ## Parameters
#
# The defaults build the paper's networks at 256 px (54 M + 2.8 M parameters); one forward pass
# takes about a second on a CPU.

# %% tags=["parameters"]
IMAGE_SIZE = 256  # pixels per side (pix2pix: 256); multiple of 16
BASE_FILTERS = 64  # width of the first layer (pix2pix: 64; the embedded quick profile: 32)
DATA_DIR = None  # None: the embedded procedural dataset
EMBEDDED_TRAIN = 800
EMBEDDED_VAL = 80
SEED = 0

# %% [markdown]
# **Real dataset / GPU.** These are already the paper settings (`IMAGE_SIZE = 256`,
# `BASE_FILTERS = 64`); set `DATA_DIR` to the Kaggle folder to look at real sketches. A GPU
# only changes the speed.

# %%
# %matplotlib inline
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from sketch2color.config import DataConfig
from sketch2color.data import load_datasets
from sketch2color.models import build_discriminator, build_generator
from sketch2color.models.patchgan import RECEPTIVE_FIELD, patch_grid_size
from sketch2color.models.unet import default_depth, encoder_filters
from sketch2color.training import losses

keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)


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
# ## 1. The generator: a U-Net
#
# An encoder halves the image `depth` times (8 at 256 px, down to 1x1), a decoder doubles it
# back; **skip connections** concatenate each decoder level with the encoder level of the same
# size, so the fine line positions reach the output directly. Blocks: conv 4x4 stride 2 →
# batch norm → LeakyReLU(0.2) down, transposed conv → batch norm → (dropout 0.5 in the first
# three) → ReLU up, tanh at the end.

# %%
depth = default_depth(IMAGE_SIZE)
print(f"{IMAGE_SIZE} px -> depth {depth}, encoder filters {encoder_filters(depth, BASE_FILTERS)}")
generator = build_generator("unet", image_size=IMAGE_SIZE, base_filters=BASE_FILTERS)
generator.summary(line_length=100)

# %% [markdown]
# The model is fully convolutional (`None` height and width in the summary). Tracing one
# `[1, S, S, 3]` input through every block shows the U shape:

# %%
blocks = [layer for layer in generator.layers if not isinstance(layer, keras.layers.InputLayer)]
tracer = keras.Model(generator.inputs, [layer.output for layer in blocks])
for layer, output in zip(blocks, tracer(tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3))), strict=True):
    print(f"{layer.name:12s} {type(layer).__name__:16s} -> {tuple(output.shape)}")

# %% [markdown]
# ## 2. The discriminator: a 70x70 PatchGAN
#
# D sees the sketch and an image (the real color or G's output) concatenated to 6 channels,
# and answers with a **grid of logits**: three stride-2 convs, then two 4x4 stride-1 convs. Each
# cell judges one overlapping 70x70 patch, so D penalizes local texture and color mistakes.

# %%
discriminator = build_discriminator("patchgan", image_size=IMAGE_SIZE, base_filters=BASE_FILTERS)
discriminator.summary(line_length=100)
grid = patch_grid_size(IMAGE_SIZE)
print(f"{IMAGE_SIZE} px -> logit grid {grid}x{grid}")

# %%
blocks = [layer for layer in discriminator.layers if not isinstance(layer, keras.layers.InputLayer)]
tracer = keras.Model(discriminator.inputs, [layer.output for layer in blocks])
zeros = tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3))
for layer, output in zip(blocks, tracer([zeros, zeros]), strict=True):
    print(f"{layer.name:14s} {type(layer).__name__:16s} -> {tuple(output.shape)}")

# %% [markdown]
# **What one logit sees.** The gradient of one output cell with respect to the input image is
# non-zero exactly on that cell's receptive field: 70x70 pixels (clipped at the border of small
# images).

# %%
probe = tf.Variable(tf.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3)))
i = j = grid // 2
with tf.GradientTape() as tape:
    cell = discriminator([tf.zeros_like(probe), probe], training=False)[0, i, j, 0]
seen = np.abs(tape.gradient(cell, probe).numpy()[0]).sum(axis=-1) > 0  # [S, S] bool
rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
print(
    f"cell ({i}, {j}) sees rows {rows.min()}..{rows.max()}, columns {cols.min()}..{cols.max()}: "
    f"{rows.max() - rows.min() + 1}x{cols.max() - cols.min() + 1} px "
    f"(full field: {RECEPTIVE_FIELD}x{RECEPTIVE_FIELD})"
)

plt.figure(figsize=(4, 4))
plt.imshow(seen, cmap="gray")
plt.title(f"input pixels seen by D cell ({i}, {j})")
plt.axis("off")
plt.show()

# %% [markdown]
# ## 3. One forward pass of the untrained generator
#
# A validation pair from the pipeline of notebook 01, `[1, S, S, 3]` in [-1, 1]. The untrained
# G gives gray noise with at most a faint trace of the sketch: nothing is learned yet.

# %%
splits = load_datasets(
    DataConfig(
        data_dir=DATA_DIR,
        image_size=IMAGE_SIZE,
        batch_size=1,
        seed=SEED,
        embedded_train=EMBEDDED_TRAIN,
        embedded_val=EMBEDDED_VAL,
    )
)
sketch, color = next(iter(splits.val))
fake = generator(sketch, training=True)  # training=True: dropout on, batch statistics (as in training)
print(
    "sketch",
    sketch.shape,
    "-> G(sketch)",
    fake.shape,
    "values",
    float(tf.reduce_min(fake)),
    "..",
    float(tf.reduce_max(fake)),
)
show([sketch[0], fake[0], color[0]], ["sketch (input)", "untrained G(sketch)", "ground truth"], size=3.5)

# %% [markdown]
# ## 4. The patch map
#
# D's verdict on three images for the same sketch: the real color, a random image and G's
# output. Shape `[1, grid, grid, 1]`; `sigmoid(logit)` is "probability real". Untrained, D
# cannot tell them apart (all near 0.5); training makes the real map bright and the fake ones
# dark, patch by patch.

# %%
random_image = tf.random.uniform(color.shape, -1.0, 1.0, seed=SEED)
candidates = {"real color": color, "random image": random_image, "untrained G(sketch)": fake}
logits = {name: discriminator([sketch, image], training=False) for name, image in candidates.items()}
for name, value in logits.items():
    print(
        f"{name:20s} logits {tuple(value.shape)}  mean sigmoid {float(tf.reduce_mean(tf.sigmoid(value))):.3f}"
    )

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

# %% [markdown]
# These logits feed the losses of `sketch2color.training.losses` (one value per example). Untrained,
# D's loss is about ln 2 = 0.693, the loss of a coin flip; G's loss adds 100 x L1.

# %%
real_logits, fake_logits = logits["real color"], logits["untrained G(sketch)"]
print(
    "D loss   0.5 * (BCE(real, 1) + BCE(fake, 0)):",
    losses.discriminator_adversarial_loss(real_logits, fake_logits).numpy(),
)
print(
    "G loss   BCE(fake, 1):                        ",
    losses.generator_adversarial_loss(fake_logits).numpy(),
)
print("G loss   L1 |color - G(sketch)|:              ", losses.l1_loss(color, fake).numpy())

# %% [markdown]
# ## 5. Other image sizes
#
# Both networks are built for a size: the U-Net's depth is `log2(size)` (at most 8), the
# PatchGAN's grid follows from its strides. The exported model later accepts any size.

# %%
print(f"{'size':>5} {'U-Net depth':>12} {'bottleneck':>11} {'D grid':>7}")
for size in (32, 64, 128, 256, 512):
    levels = default_depth(size)
    print(
        f"{size:5d} {levels:12d} {size // 2**levels:>9d}px {patch_grid_size(size):5d}x{patch_grid_size(size)}"
    )
print(f"parameters at {IMAGE_SIZE} px: G {generator.count_params():,}  D {discriminator.count_params():,}")

# %% [markdown]
# ## Summary
#
# * `build_generator("unet", image_size=S)`: `[B, S, S, 3]` → `[B, S, S, 3]`, tanh.
# * `build_discriminator("patchgan", image_size=S)`: `[sketch, image]` → `[B, g, g, 1]` logits,
#   each cell a 70x70 patch (g = 30 at 256 px).
# * Untrained: G outputs gray blotches, D says 0.5 everywhere.
#
# Next: **03_training** trains them against each other.
