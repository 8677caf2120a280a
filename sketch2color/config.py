"""Run configuration: one dataclass per concern, with a JSON round trip.

Every run writes its full configuration (``config.json``) beside its checkpoints, so a run
can be resumed, compared or reproduced from its folder alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting that cannot work, with a message naming it."""


BOUNDS = ("minimum", "maximum", "above", "below")  # inclusive, inclusive, exclusive, exclusive
DISTRIBUTE_MODES = ("auto", "none", "mirrored", "multi-worker")  # see sketch2color.training.distribute
# Refused before the run folder is touched: the upstream defects are described in training/distribute.py.
MULTI_WORKER_REFUSED = (
    "--distribute multi-worker is refused: Keras 3's fit() fails under MultiWorkerMirroredStrategy "
    "(upstream keras-team/keras#20585, tensorflow/tensorflow#72388); train on one machine with "
    "--distribute mirrored"
)


def check_distribute_mode(mode: str) -> None:
    """ConfigError for a ``--distribute`` mode that is unknown, or refused (multi-worker)."""
    if mode not in DISTRIBUTE_MODES:
        raise ConfigError(f"distribute (--distribute) must be one of {DISTRIBUTE_MODES}, got {mode!r}")
    if mode == "multi-worker":
        raise ConfigError(MULTI_WORKER_REFUSED)


def option(default: Any, flag: str, help: str, **settings: Any) -> Any:
    """A setting with its default and its ``python -m sketch2color.train`` flag.

    The help text is the setting's documentation, written once: ``sketch2color.cli.train`` builds
    its parser from these fields. ``const=True`` / ``const=False`` make a switch that sets that value;
    ``minimum``, ``maximum``, ``above``, ``below`` bound a number (checked when the flag is parsed
    and by ``validate()``); other keywords go to ``argparse``.
    """
    return dataclasses.field(default=default, metadata={"flag": flag, "help": help, **settings})


def bounds_problem(field: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with a number for this field ("must be >= 1, got 0"), or None (None means "not set")."""
    return limits_problem({key: field.metadata[key] for key in BOUNDS if key in field.metadata}, value)


def limits_problem(limits: dict[str, float], value: Any) -> str | None:
    """What is wrong with a number under ``limits`` (keys of :data:`BOUNDS`), or None."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        return f"must be a finite number, got {value}"
    broken = (
        ("minimum" in limits and value < limits["minimum"])
        or ("maximum" in limits and value > limits["maximum"])
        or ("above" in limits and value <= limits["above"])
        or ("below" in limits and value >= limits["below"])
    )
    if not broken:
        return None
    words = {"minimum": ">= {}", "maximum": "<= {}", "above": "> {}", "below": "< {}"}
    return (
        "must be "
        + " and ".join(words[key].format(limit) for key, limit in limits.items())
        + f", got {value}"
    )


def check_bounds(field: dataclasses.Field, value: Any) -> None:
    """ConfigError naming the setting and its flag unless a number is finite and within its bounds."""
    problem = bounds_problem(field, value)
    if problem:
        flag = field.metadata.get("flag")
        raise ConfigError(f"{field.name} ({flag}) {problem}" if flag else f"{field.name} {problem}")


def check_all_bounds(config: Any) -> None:
    """:func:`check_bounds` for every field of a config dataclass."""
    for field in dataclasses.fields(config):
        check_bounds(field, getattr(config, field.name))


@dataclasses.dataclass
class DataConfig:
    """Where the pairs come from and how they are prepared and augmented.

    Probabilities are per example; strengths are the maximum of a uniform draw
    (e.g. ``rotation=10`` rotates by a random angle in [-10, 10] degrees).
    """

    data_dir: str | None = option(
        None,
        "--data",
        "dataset folder (Kaggle train/ + val/ layout, nested one level, or a flat folder of pair images); "
        "default: the embedded procedural dataset",
        metavar="FOLDER",
    )
    image_size: int = option(
        256, "--image-size", "training resolution in pixels (embedded: 128, with --data: 256)", minimum=16
    )
    sketch_side: str = option(
        "right",
        "--sketch-side",
        "which half of a pair file is the sketch (default right)",
        choices=("left", "right"),
    )
    val_fraction: float = option(
        0.1, "--val-fraction", "validation share of a flat folder (default 0.1)", minimum=0.0, below=1.0
    )
    batch_size: int = option(1, "--batch-size", "images per step (embedded: 4, with --data: 1)", minimum=1)
    seed: int | None = option(
        0, "--seed", "seed for shuffling, augmentation and weights (default 0)", minimum=0
    )
    cache: str = option(
        "memory", "--cache", "'memory' (default), 'none', or a folder for an on-disk cache of decoded pairs"
    )
    shuffle_buffer: int = 1000
    skip_bad: bool = option(
        False,
        "--skip-bad",
        "skip unreadable or non-2:1 files (and list them) instead of stopping",
        const=True,
    )
    max_image_pixels: int = option(
        8192 * 8192,
        "--max-image-pixels",
        "refuse pair files with more pixels than this, before decoding them (default 8192x8192)",
        minimum=1,
    )
    # Geometry, applied identically to sketch and color.
    jitter: bool = option(True, "--no-jitter", "turn off the 286->256 random-crop jitter", const=False)
    jitter_scale: float = 286 / 256
    flip_prob: float = option(
        0.5, "--flip-prob", "horizontal flip probability (default 0.5)", minimum=0.0, maximum=1.0
    )
    affine_prob: float = option(
        0.0,
        "--affine-prob",
        "probability of a random rotation/shear/zoom/shift (default 0)",
        minimum=0.0,
        maximum=1.0,
    )
    rotation: float = option(0.0, "--rotation", "max rotation in degrees for --affine-prob", minimum=0.0)
    shear: float = option(0.0, "--shear", "max shear in degrees for --affine-prob", minimum=0.0)
    zoom: float = option(0.0, "--zoom", "max zoom fraction for --affine-prob", minimum=0.0, below=1.0)
    shift: float = option(0.0, "--shift", "max shift fraction for --affine-prob", minimum=0.0)
    # Photometric, applied to one side only.
    sketch_noise_prob: float = option(
        0.0,
        "--sketch-noise-prob",
        "probability of Gaussian noise on the sketch (default 0)",
        minimum=0.0,
        maximum=1.0,
    )
    sketch_noise_std: float = 0.05  # in [-1, 1] units
    color_jitter_prob: float = option(
        0.0,
        "--color-jitter-prob",
        "probability of color jitter on the target (default 0)",
        minimum=0.0,
        maximum=1.0,
    )
    color_jitter: float = 0.1  # brightness/contrast/saturation/hue strength
    # Model input: the dataset's sketch, or edges / grayscale derived from the color image,
    # plus optional conditioning planes (see sketch2color.conditioning).
    input_mode: str = option(
        "sketch",
        "--input-mode",
        "model input: the dataset's sketch (default), Canny edges or grayscale of the color image",
        choices=("sketch", "edges", "gray"),
    )
    palette: bool = option(
        False,
        "--palette",
        "condition on a 9-color K-means palette of a reference (the target in training): +27 input planes",
        const=True,
    )
    hints: bool = option(
        False,
        "--hints",
        "condition on sparse color hints sampled from the target: +4 input planes",
        const=True,
    )
    hint_keep_prob: float = 0.02  # share of 4x4 cells that carry a hint
    hint_style: str = option(
        "strokes",
        "--hint-style",
        "training hints: 'strokes' (short one-color strokes and dots, like a user's brush; default) "
        "or 'cells' (lone cells on the hint grid)",
        choices=("strokes", "cells"),
    )
    hint_empty_prob: float = 0.1  # share of examples with no hints at all
    # Embedded dataset size (used when data_dir is None).
    embedded_train: int = option(
        800, "--embedded-train", "pairs in the embedded training set (default 800)", minimum=1
    )
    embedded_val: int = option(
        80, "--embedded-val", "pairs in the embedded validation set (default 80)", minimum=0
    )

    def validate(self) -> None:
        """Raise ConfigError on settings that cannot work."""
        check_all_bounds(self)
        if self.image_size < 16 or self.image_size % 16:
            raise ConfigError(
                f"image_size (--image-size) must be a multiple of 16 and >= 16, got {self.image_size}"
            )
        if self.sketch_side not in ("left", "right"):
            raise ConfigError(f"sketch_side must be 'left' or 'right', got {self.sketch_side!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.jitter_scale < 1.0:
            raise ConfigError(f"jitter_scale must be >= 1, got {self.jitter_scale}")
        if self.cache not in ("memory", "none", "") and Path(self.cache).expanduser().is_file():
            raise ConfigError(
                f"cache (--cache) {self.cache}: exists and is a file; give a folder, 'memory' or 'none'"
            )
        if self.input_mode not in ("sketch", "edges", "gray"):
            raise ConfigError(f"input_mode must be 'sketch', 'edges' or 'gray', got {self.input_mode!r}")
        for name in (
            "flip_prob",
            "affine_prob",
            "sketch_noise_prob",
            "color_jitter_prob",
            "hint_keep_prob",
            "hint_empty_prob",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1], got {value}")


@dataclasses.dataclass
class ModelConfig:
    """Which generator and discriminator to build (names from the registry) and their settings."""

    generator: str = option("unet", "--generator", "generator name from the registry (default unet)")
    discriminator: str = option(
        "patchgan",
        "--discriminator",
        "discriminator name from the registry, or 'none' for no adversary (default patchgan)",
    )
    generator_kwargs: dict = dataclasses.field(default_factory=dict)
    discriminator_kwargs: dict = dataclasses.field(default_factory=dict)
    hint_spread: bool = option(
        True,
        "--no-hint-spread",
        "with --hints: do not give the generator the hints spread over the image (normalized "
        "convolution at 8 and 32 px) beside the sparse hints",
        const=False,
    )


@dataclasses.dataclass
class TrainConfig:
    """Optimization, losses, schedule, checkpointing and previews."""

    epochs: int = option(
        150, "--epochs", "epochs to train in total (embedded: 10, with --data: 150)", minimum=1
    )
    steps_per_epoch: int | None = option(
        None,
        "--steps-per-epoch",
        "steps per epoch (embedded: 150; with --data: one pass over the pairs)",
        minimum=1,
    )
    learning_rate: float = option(
        2e-4, "--lr", "Adam learning rate for both networks (default 2e-4)", above=0.0
    )
    beta_1: float = option(0.5, "--beta1", "Adam beta_1 (default 0.5)", minimum=0.0, below=1.0)
    lr_decay_epochs: int = option(
        0,
        "--lr-decay-epochs",
        "decay the learning rate linearly to 0 over the last N epochs (default 0: constant)",
        minimum=0,
    )
    l1_weight: float = option(
        100.0, "--l1-weight", "weight of the L1 term in the generator loss (default 100)", minimum=0.0
    )
    l2_weight: float = option(
        0.0, "--l2-weight", "weight of an L2 term (default 0; convnet-l2: 1)", minimum=0.0
    )
    feature_weight: float = option(
        0.0,
        "--feature-weight",
        "weight of the VGG16 feature loss (default 0; sgru, reference: 1e-4)",
        minimum=0.0,
    )
    tv_weight: float = option(
        0.0, "--tv-weight", "weight of the total-variation loss (default 0; reference: 1e-2)", minimum=0.0
    )
    ema_decay: float = option(
        0.999,
        "--ema-decay",
        "decay of the moving average of the generator's weights used for validation, previews, "
        "export and evaluate (default 0.999; 0: none, use the trained weights)",
        minimum=0.0,
        below=1.0,
    )
    vgg_weights: str = option(
        "imagenet",
        "--vgg-weights",
        "VGG16 weights for the feature loss: 'imagenet' (Keras cache, default), a local .h5 file, "
        "or 'random'",
    )
    adversarial_loss: str = option(
        "vanilla",
        "--gan-loss",
        "adversarial loss (default vanilla: BCE from logits)",
        choices=("vanilla", "lsgan", "hinge"),
    )
    mixed_precision: bool = option(
        False,
        "--mixed-precision",
        "compute in bfloat16 (faster on CPUs with AMX and on recent GPUs); losses stay float32",
        const=True,
    )
    checkpoint_every_steps: int = option(
        500,
        "--checkpoint-every",
        "also checkpoint every N steps (default 500; 0: only at epoch ends)",
        minimum=0,
    )
    keep_checkpoints: int = option(3, "--keep-checkpoints", "checkpoints kept (default 3)", minimum=1)
    preview_samples: int = option(
        4, "--preview-samples", "validation sketches in each epoch's preview (default 4)", minimum=1
    )
    validation_steps: int | None = option(
        None, "--validation-steps", "validation batches per epoch (default: all)", minimum=1
    )
    bn_recalibration_batches: int = option(
        20,
        "--bn-recalibration-batches",
        "training batches that recompute batch-norm statistics before each validation, preview and "
        "checkpoint (default 20; 0: off)",
        minimum=0,
    )
    metrics_images: int | None = option(
        64,
        "--metrics-images",
        "validation images scored for PSNR/SSIM/L1 each epoch (default 64; 0: off)",
        minimum=0,
    )
    fid_every: int = option(
        5,
        "--fid-every",
        "FID/KID on the validation images every N epochs (default 5; 0: never); needs the Inception weights",
        minimum=0,
    )
    inception_weights: str = option(
        "imagenet",
        "--inception-weights",
        "InceptionV3 weights for FID/KID: 'imagenet' (Keras cache, default), a local .h5 file, or 'random'",
    )
    export: bool = option(True, "--no-export", "do not export the SavedModel at the end", const=False)
    # Devices: may change on resume (a run started on 2 GPUs goes on on 1); --batch-size stays global.
    distribute: str = option(
        "auto",
        "--distribute",
        "devices to train on: 'auto' (default: all GPUs when there are several, else one device), "
        "'none' (one device), 'mirrored' (every GPU, or the logical CPUs), 'multi-worker' (TF_CONFIG; "
        "refused for now, see the README); --batch-size is the global batch",
        choices=DISTRIBUTE_MODES,
    )
    sync_bn: bool | None = option(
        None,
        "--sync-bn",
        "batch-norm statistics over the global batch rather than each replica's share "
        "(default: on when there are several replicas)",
        action=argparse.BooleanOptionalAction,
    )
    jit_compile: bool = option(
        False,
        "--jit-compile",
        "compile the train step with XLA (default: Keras' choice, which is off on CPU and under "
        "--distribute)",
        const=True,
    )

    def validate(self) -> None:
        """Raise ConfigError on settings that cannot work."""
        check_all_bounds(self)
        check_distribute_mode(self.distribute)
        if self.lr_decay_epochs > self.epochs:
            raise ConfigError(
                f"lr_decay_epochs (--lr-decay-epochs) must be <= epochs (--epochs {self.epochs}), "
                f"got {self.lr_decay_epochs}"
            )


@dataclasses.dataclass
class RunConfig:
    """Everything a run needs; saved as ``config.json`` in its run directory."""

    run_dir: str = "runs/pix2pix-embedded"
    preset: str = "pix2pix"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


# Settings whose default changed, with the value a file saved before the change meant: such a
# file has no key for them, and its run's checkpoints were written under the old value.
DEFAULTS_BEFORE_THEY_CHANGED = {
    "TrainConfig": {"ema_decay": 0.0},  # the weight average became the default in December 2026
    "ModelConfig": {"hint_spread": False},  # spread hints became the default in December 2026
}


def to_dict(config: Any) -> dict:
    """Plain-dict view of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict, where: str = "") -> Any:
    """Build ``cls`` from a dict, ignoring unknown keys so old run folders still load; a missing
    key whose default changed (:data:`DEFAULTS_BEFORE_THEY_CHANGED`) gets its old default.

    Each value must have its field's type (ConfigError "data.image_size must be int, got 'big'"),
    and the sections' own checks (``validate``) run, so a hand-edited file fails here, by name.
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{where.rstrip('.') or 'the configuration'} must be a JSON object, got {values!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = dict(DEFAULTS_BEFORE_THEY_CHANGED.get(cls.__name__, {}))
    for key, value in values.items():
        if key not in known:
            continue
        field_type = known[key].type
        sub = _dataclass_type(field_type)
        if sub:
            kwargs[key] = from_dict(sub, value, f"{where}{key}.")
            continue
        if not _has_type(value, str(field_type)):
            raise ConfigError(f"{where}{key} must be {field_type}, got {value!r}")
        kwargs[key] = value
    built = cls(**kwargs)
    if hasattr(built, "validate"):
        built.validate()
    return built


def _has_type(value: Any, annotation: str) -> bool:
    """Whether a JSON value fits a field annotation such as "int | None" or "float | tuple[float, float]"."""
    checks = {
        "None": lambda v: v is None,
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "dict": lambda v: isinstance(v, dict),
        "tuple": lambda v: isinstance(v, (list, tuple)),
        "list": lambda v: isinstance(v, (list, tuple)),
    }
    kinds = [part.strip().split("[")[0] for part in annotation.split("|")]
    if any(kind not in checks for kind in kinds):
        return True  # an annotation this check does not know: left to the code that uses it
    return any(checks[kind](value) for kind in kinds)


def _dataclass_type(annotation: Any) -> type | None:
    """The dataclass named by a field annotation (annotations are strings here)."""
    candidate = globals().get(annotation) if isinstance(annotation, str) else annotation
    return candidate if dataclasses.is_dataclass(candidate) else None


def save_json(config: Any, path: str | Path) -> None:
    """Write a config dataclass as pretty JSON (atomically, so a kill never leaves half a file)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a half-written file must not keep a full disk full
        raise


def load_json(cls: type, path: str | Path) -> Any:
    """Read a config dataclass written by :func:`save_json`."""
    return from_dict(cls, json.loads(Path(path).read_text()))
