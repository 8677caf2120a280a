"""The tf.data pair pipeline: pair files -> (sketch, color) batches in [-1, 1].

A pair file is one RGB image of width = 2 x height: the colored illustration on one half and
its line-art sketch on the other (Kaggle "Anime Sketch Colorization Pair": color left, sketch
right, 1024x512). The pipeline::

    list files -> check them (clear errors) -> decode (parallel) -> split halves
    -> resize to image_size -> cache (uint8) -> shuffle -> augment (same geometry for both
    halves) -> batch -> prefetch

Typical use::

    splits = load_datasets(DataConfig(data_dir="anime-sketch-colorization-pair", batch_size=4))
    for sketch, color in splits.train.take(1):
        print(sketch.shape)  # (4, 256, 256, 3), float32 in [-1, 1]
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color.config import DataConfig
from sketch2color.data.conditioning import ConditioningSpec, build_conditioned_input, input_channels
from sketch2color.data.embedded import default_cache_dir, ensure_embedded_dataset
from sketch2color.data.files import BadFile, DatasetError, bad_file_lines, find_pair_files, scan_pair_files
from sketch2color.data.pixels import to_unit_range

log = logging.getLogger(__name__)


@dataclasses.dataclass
class PairSplits:
    """The train and validation datasets plus what went into them."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    train_files: list[Path]
    val_files: list[Path]
    skipped: list[BadFile]
    root: Path


# --------------------------------------------------------------------------- decoding


def decode_rgb(contents: tf.Tensor) -> tf.Tensor:
    """Encoded PNG/JPEG/BMP bytes -> uint8 RGB [H, W, 3], whatever the source mode.

    Gray is replicated, 16-bit is scaled to 8-bit, and alpha is composited over white
    (transparent line art has a white page behind it, not a black one).
    """
    image = tf.io.decode_image(contents, channels=0, dtype=tf.uint8, expand_animations=False)
    channels = tf.shape(image)[-1]
    pixels = tf.cast(image, tf.float32)
    has_alpha = tf.equal(channels % 2, 0)  # 2 = gray + alpha, 4 = RGBA
    alpha = tf.where(has_alpha, pixels[..., -1:], 255.0) / 255.0
    rgb = tf.cond(channels >= 3, lambda: pixels[..., :3], lambda: tf.tile(pixels[..., :1], [1, 1, 3]))
    rgb = rgb * alpha + 255.0 * (1.0 - alpha)
    return tf.ensure_shape(tf.cast(tf.round(rgb), tf.uint8), (None, None, 3))


def split_halves(pair: tf.Tensor, sketch_side: str = "right") -> tuple[tf.Tensor, tf.Tensor]:
    """[H, 2H, C] pair -> (sketch, color), each [H, H, C]."""
    half = tf.shape(pair)[1] // 2
    left, right = pair[:, :half], pair[:, half : 2 * half]
    return (right, left) if sketch_side == "right" else (left, right)


def resize_uint8(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resize an [H, W, 3] uint8 image to size x size with antialiasing, staying uint8."""
    resized = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def load_pair(path: tf.Tensor, image_size: int, sketch_side: str = "right") -> tuple[tf.Tensor, tf.Tensor]:
    """File path -> (sketch, color) uint8 [image_size, image_size, 3]."""
    sketch, color = split_halves(decode_rgb(tf.io.read_file(path)), sketch_side)
    shape = (image_size, image_size, 3)
    return tf.ensure_shape(resize_uint8(sketch, image_size), shape), tf.ensure_shape(
        resize_uint8(color, image_size), shape
    )


# --------------------------------------------------------------------------- augmentation


def _chance(seed: tf.Tensor, probability: float) -> tf.Tensor:
    """A seeded coin that comes up True with ``probability``."""
    return tf.random.stateless_uniform([], seed) < probability


def _uniform(seed: tf.Tensor, limit: float) -> tf.Tensor:
    """A seeded draw from [-limit, limit]."""
    return tf.random.stateless_uniform([], seed, -limit, limit)


def random_jitter(stack: tf.Tensor, seed: tf.Tensor, size: int, scale: float) -> tf.Tensor:
    """pix2pix jitter: upscale to ``size * scale`` (286 at 256), then random-crop back to size."""
    big = int(round(size * scale))
    stack = tf.image.resize(stack, (big, big), method="bilinear")
    return tf.image.stateless_random_crop(stack, (size, size, stack.shape[-1]), seed)


def affine_matrix(seeds: tf.Tensor, config: DataConfig, size: int) -> tf.Tensor:
    """The 8 projective-transform parameters (output -> input pixel) of a random affine map.

    Forward map: ``out = c + Z R S (in - c) + t`` (zoom, rotation, shear about the center c,
    then shift t); the transform op wants its inverse.
    """
    angle = _uniform(seeds[0], np.deg2rad(config.rotation))
    shear = _uniform(seeds[1], np.deg2rad(config.shear))
    zoom = 1.0 + _uniform(seeds[2], config.zoom)
    shift = tf.stack([_uniform(seeds[3], config.shift), _uniform(seeds[4], config.shift)]) * size
    cos, sin, tan = tf.cos(angle), tf.sin(angle), tf.tan(shear)
    # A = zoom * R @ S with S = [[1, tan], [0, 1]]
    a00, a01 = zoom * cos, zoom * (cos * tan - sin)
    a10, a11 = zoom * sin, zoom * (sin * tan + cos)
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    center = (size - 1) / 2.0
    cx, cy = center + shift[0], center + shift[1]
    offset_x = center - (i00 * cx + i01 * cy)
    offset_y = center - (i10 * cx + i11 * cy)
    return tf.stack([i00, i01, offset_x, i10, i11, offset_y, 0.0, 0.0])


def random_affine(stack: tf.Tensor, seeds: tf.Tensor, config: DataConfig) -> tf.Tensor:
    """Rotation, shear, zoom and shift of the stacked halves, with white filling the corners."""
    transform = affine_matrix(seeds, config, stack.shape[0])
    white = 1.0  # in [-1, 1]
    return keras.ops.image.affine_transform(
        stack, transform, "bilinear", fill_mode="constant", fill_value=white
    )


def random_color_jitter(color: tf.Tensor, seeds: tf.Tensor, strength: float) -> tf.Tensor:
    """Brightness, contrast, saturation and hue jitter of the target (in [-1, 1])."""
    image = color * 0.5 + 0.5
    image = tf.image.stateless_random_brightness(image, strength, seeds[0])
    image = tf.image.stateless_random_contrast(image, 1 - strength, 1 + strength, seeds[1])
    image = tf.image.stateless_random_saturation(image, 1 - strength, 1 + strength, seeds[2])
    image = tf.image.stateless_random_hue(image, min(strength, 0.5), seeds[3])
    return tf.clip_by_value(image, 0.0, 1.0) * 2.0 - 1.0


def augment_pair(sketch: tf.Tensor, color: tf.Tensor, seed: tf.Tensor, config: DataConfig):
    """Training augmentation of one normalized pair; every geometric op sees both halves at once."""
    seeds = tf.random.split(seed, num=16)
    size = config.image_size
    stack = tf.concat([sketch, color], axis=-1)  # [H, W, 6]: one transform for both halves
    if config.jitter and config.jitter_scale > 1.0:
        stack = random_jitter(stack, seeds[0], size, config.jitter_scale)
    if config.flip_prob > 0:
        flip = _chance(seeds[1], config.flip_prob)
        stack = tf.cond(flip, lambda: tf.reverse(stack, axis=[1]), lambda: stack)
    if config.affine_prob > 0:
        apply = _chance(seeds[2], config.affine_prob)
        stack = tf.cond(apply, lambda: random_affine(stack, seeds[3:8], config), lambda: stack)
    sketch, color = stack[..., :3], stack[..., 3:]
    if config.sketch_noise_prob > 0:
        noise = tf.random.stateless_normal(tf.shape(sketch), seeds[8], stddev=config.sketch_noise_std)
        noisy = _chance(seeds[9], config.sketch_noise_prob)
        sketch = tf.cond(noisy, lambda: tf.clip_by_value(sketch + noise, -1.0, 1.0), lambda: sketch)
    if config.color_jitter_prob > 0:
        jitter = _chance(seeds[10], config.color_jitter_prob)
        color = tf.cond(
            jitter, lambda: random_color_jitter(color, seeds[11:15], config.color_jitter), lambda: color
        )
    sketch = tf.ensure_shape(sketch, (size, size, 3))
    color = tf.ensure_shape(color, (size, size, 3))
    return sketch, color


# --------------------------------------------------------------------------- conditioning


def conditioning_spec(config: DataConfig):
    """The model-input recipe of a data config (sketch / edges / gray, palette, hints)."""
    return ConditioningSpec(
        input_mode=config.input_mode,
        palette=config.palette,
        hints=config.hints,
        hint_keep_prob=config.hint_keep_prob,
        hint_empty_prob=config.hint_empty_prob,
        hint_style=config.hint_style,
    )


def model_input_channels(config: DataConfig) -> int:
    """Channels of the generator input: 3, plus 27 palette planes, plus 4 hint planes."""
    return input_channels(conditioning_spec(config))


def _conditioner(config: DataConfig):
    """(sketch, color, seed) -> (model input, color); None when the input is the plain sketch."""
    spec = conditioning_spec(config)
    if spec.input_mode == "sketch" and not spec.palette and not spec.hints:
        return None

    def condition(sketch, color, seed):
        return build_conditioned_input(sketch, color, spec, tf.random.split(seed, 2)[1]), color

    return condition


# --------------------------------------------------------------------------- datasets


def _decoded_pairs(files: Sequence[Path], config: DataConfig, cache_name: str) -> tf.data.Dataset:
    """Decoded, resized uint8 pairs, cached so later epochs skip PNG decoding."""
    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    pairs = paths.map(
        lambda p: load_pair(p, config.image_size, config.sketch_side),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if config.skip_bad:
        # A file that changed since its check and no longer decodes is dropped (TensorFlow logs
        # the error) instead of ending a run of many hours.
        pairs = pairs.ignore_errors(log_warning=True)
    if config.cache == "memory":
        return pairs.cache()
    if config.cache in ("none", "", None):
        return pairs
    folder = Path(config.cache)
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(
        "\n".join(map(str, files)).encode() + f"{config.image_size}{config.sketch_side}".encode()
    )
    return pairs.cache(str(folder / f"{cache_name}-{key.hexdigest()[:16]}"))


def make_dataset(
    files: Sequence[Path], config: DataConfig, training: bool, cache_name: str = "pairs"
) -> tf.data.Dataset:
    """(sketch, color) float32 batches in [-1, 1]; shuffled and augmented when ``training``."""
    if not files:
        raise DatasetError(f"no files for the {'training' if training else 'validation'} dataset")
    pairs = _decoded_pairs(files, config, cache_name)
    normalized = pairs.map(
        lambda s, c: (to_unit_range(s), to_unit_range(c)), num_parallel_calls=tf.data.AUTOTUNE
    )
    condition = _conditioner(config)
    if training:
        shuffled = normalized.shuffle(
            min(config.shuffle_buffer, len(files)), seed=config.seed, reshuffle_each_iteration=True
        )
        # One fresh stateless seed per example per epoch: deterministic with a seed, yet
        # different augmentations every epoch, and safe under parallel map.
        seeds = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)

        def augment(pair, seed):
            sketch, color = augment_pair(pair[0], pair[1], seed, config)
            return condition(sketch, color, seed) if condition else (sketch, color)

        augmented = tf.data.Dataset.zip(shuffled, seeds).map(
            augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
        if len(files) < config.batch_size:
            raise DatasetError(f"{len(files)} training pair(s) cannot fill one batch of {config.batch_size}")
        batched = augmented.batch(config.batch_size, drop_remainder=True)
    else:
        if condition:  # validation hints are random too, but the same every epoch
            normalized = normalized.enumerate().map(
                lambda index, pair: condition(pair[0], pair[1], tf.stack([index, tf.constant(0, tf.int64)])),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        batched = normalized.batch(config.batch_size)
    return batched.prefetch(tf.data.AUTOTUNE).with_options(pipeline_options())


def pipeline_options() -> tf.data.Options:
    """Deterministic order, and no tf.data autotuning.

    An iterator dropped before its end (fit's, at the end of every ``fit`` call; the 20 batches
    of the batch-norm recalibration each epoch) waits for the autotune thread to wake, and that
    thread sleeps longer the longer the iterator lived: 0.3-1.2 s after a few seconds, 5-20 s
    after a benchmark's fit, with both cores idle. Without autotuning, AUTOTUNE parallelism is
    min(16, CPU cores), and on CPU this pipeline outruns a training step many times over.
    """
    options = tf.data.Options()
    options.deterministic = True
    options.autotune.enabled = False
    return options


def resolve_data_root(config: DataConfig, progress: bool = True) -> Path:
    """The dataset folder: ``config.data_dir``, or the embedded dataset (generated once, cached)."""
    if config.data_dir:
        return Path(config.data_dir).expanduser()
    return ensure_embedded_dataset(
        n_train=config.embedded_train, n_val=config.embedded_val, progress=progress
    )


def file_check_cache(root: Path) -> Path:
    """Where the decode checks of a dataset folder are remembered (in the package's cache folder)."""
    key = hashlib.sha1(os.fsencode(Path(root).resolve())).hexdigest()[:16]
    return default_cache_dir() / "file-checks" / f"{key}.json"


def load_datasets(config: DataConfig, progress: bool = True) -> PairSplits:
    """Find, check and load the train and validation pairs described by ``config``."""
    config.validate()
    root = resolve_data_root(config, progress)
    files = find_pair_files(root, config.val_fraction, config.seed or 0)
    verdicts = file_check_cache(root)
    check = dict(
        skip_bad=config.skip_bad, max_pixels=config.max_image_pixels, verdicts=verdicts, progress=progress
    )
    train_files, bad_train = scan_pair_files(files["train"], **check)
    val_files, bad_val = scan_pair_files(files["val"], **check)
    skipped = bad_train + bad_val
    if skipped:
        log.warning("skipped %d bad pair file(s):\n%s", len(skipped), bad_file_lines(skipped))
    if not train_files:
        raise DatasetError(f"{root}: no usable training pairs")
    if not val_files:
        # A tiny flat folder can hash every file into train; validate on a few train files then.
        val_files = train_files[: max(1, min(len(train_files), 8))]
        log.warning("%s: no validation pairs, validating on %d training pairs", root, len(val_files))
    return PairSplits(
        train=make_dataset(train_files, config, training=True, cache_name="train"),
        val=make_dataset(val_files, config, training=False, cache_name="val"),
        train_files=train_files,
        val_files=val_files,
        skipped=skipped,
        root=root,
    )
