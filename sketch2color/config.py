"""Run configuration: one dataclass per concern, with a JSON round trip.

Every run writes its full configuration (``config.json``) beside its checkpoints, so a run
can be resumed, compared or reproduced from its folder alone.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting that cannot work, with a message naming it."""


@dataclasses.dataclass
class DataConfig:
    """Where the pairs come from and how they are prepared and augmented.

    Probabilities are per example; strengths are the maximum of a uniform draw
    (e.g. ``rotation=10`` rotates by a random angle in [-10, 10] degrees).
    """

    data_dir: str | None = None  # None: the embedded procedural dataset
    image_size: int = 256
    sketch_side: str = "right"  # which half of a pair file is the sketch (input)
    val_fraction: float = 0.1  # only for flat folders without train/ and val/
    batch_size: int = 1
    seed: int | None = 0
    cache: str = "memory"  # "memory", "none", or a folder for an on-disk cache
    shuffle_buffer: int = 1000
    skip_bad: bool = False  # skip unreadable / non-2:1 files instead of stopping
    # Geometry, applied identically to sketch and color.
    jitter: bool = True  # pix2pix: upscale 286/256, random crop back
    jitter_scale: float = 286 / 256
    flip_prob: float = 0.5
    affine_prob: float = 0.0  # probability of the rotation/shear/zoom/shift transform
    rotation: float = 0.0  # degrees
    shear: float = 0.0  # degrees
    zoom: float = 0.0  # fraction, scale in [1 - zoom, 1 + zoom]
    shift: float = 0.0  # fraction of the image size
    # Photometric, applied to one side only.
    sketch_noise_prob: float = 0.0
    sketch_noise_std: float = 0.05  # in [-1, 1] units
    color_jitter_prob: float = 0.0
    color_jitter: float = 0.1  # brightness/contrast/saturation/hue strength
    # Model input: the dataset's sketch, or edges / grayscale derived from the color image,
    # plus optional conditioning planes (see sketch2color.conditioning).
    input_mode: str = "sketch"  # "sketch", "edges" or "gray"
    palette: bool = False  # + 27 planes: 9 K-means colors of the reference (the target in training)
    hints: bool = False  # + 4 planes: sparse color hints sampled from the target, and their mask
    hint_keep_prob: float = 0.02  # share of 4x4 cells that carry a hint
    hint_empty_prob: float = 0.1  # share of examples with no hints at all
    # Embedded dataset size (used when data_dir is None).
    embedded_train: int = 800
    embedded_val: int = 80

    def validate(self) -> None:
        """Raise ConfigError on settings that cannot work."""
        if self.image_size < 16 or self.image_size % 16:
            raise ConfigError(f"image_size must be a multiple of 16 and >= 16, got {self.image_size}")
        if self.sketch_side not in ("left", "right"):
            raise ConfigError(f"sketch_side must be 'left' or 'right', got {self.sketch_side!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.jitter_scale < 1.0:
            raise ConfigError(f"jitter_scale must be >= 1, got {self.jitter_scale}")
        if self.input_mode not in ("sketch", "edges", "gray"):
            raise ConfigError(f"input_mode must be 'sketch', 'edges' or 'gray', got {self.input_mode!r}")
        for name in ("flip_prob", "affine_prob", "sketch_noise_prob", "color_jitter_prob", "hint_keep_prob", "hint_empty_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1], got {value}")


@dataclasses.dataclass
class ModelConfig:
    """Which generator and discriminator to build (names from the registry) and their settings."""

    generator: str = "unet"
    discriminator: str = "patchgan"  # "none": no adversary (reconstruction losses only)
    generator_kwargs: dict = dataclasses.field(default_factory=dict)
    discriminator_kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainConfig:
    """Optimization, losses, schedule, checkpointing and previews."""

    epochs: int = 150
    steps_per_epoch: int | None = None  # None: one pass over the training pairs
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    lr_decay_epochs: int = 0  # linear decay to 0 over the last N epochs (pix2pix: half of them)
    l1_weight: float = 100.0
    l2_weight: float = 0.0
    feature_weight: float = 0.0  # VGG16 feature loss (the reference colorizer: 1e-4)
    tv_weight: float = 0.0  # total variation (the reference colorizer: 1e-2)
    vgg_weights: str = "imagenet"  # "imagenet" (Keras cache), a .h5 file, or "random"
    adversarial_loss: str = "vanilla"
    mixed_precision: bool = False  # mixed_bfloat16 compute, float32 variables and losses
    checkpoint_every_steps: int = 500  # plus one at every epoch end
    keep_checkpoints: int = 3
    preview_samples: int = 4
    validation_steps: int | None = None  # None: the whole validation split
    bn_recalibration_batches: int = 20  # training batches that refresh batch-norm statistics per epoch; 0: off
    metrics_images: int | None = 64  # validation images scored (PSNR/SSIM/L1) per epoch; 0: off, None: all
    fid_every: int = 5  # FID/KID every N epochs when Inception weights are available; 0: never
    inception_weights: str = "imagenet"  # "imagenet" (Keras cache), a local .h5 file, or "random" (tests only)
    export: bool = True  # export the generator when training ends


@dataclasses.dataclass
class RunConfig:
    """Everything a run needs; saved as ``config.json`` in its run directory."""

    run_dir: str = "runs/pix2pix-embedded"
    preset: str = "pix2pix"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def to_dict(config: Any) -> dict:
    """Plain-dict view of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict) -> Any:
    """Build ``cls`` from a dict, ignoring unknown keys so old run folders still load."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            continue
        field_type = known[key].type
        sub = _dataclass_type(field_type)
        kwargs[key] = from_dict(sub, value) if sub and isinstance(value, dict) else value
    return cls(**kwargs)


def _dataclass_type(annotation: Any) -> type | None:
    """The dataclass named by a field annotation (annotations are strings here)."""
    candidate = globals().get(annotation) if isinstance(annotation, str) else annotation
    return candidate if dataclasses.is_dataclass(candidate) else None


def save_json(config: Any, path: str | Path) -> None:
    """Write a config dataclass as pretty JSON (atomically, so a kill never leaves half a file)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def load_json(cls: type, path: str | Path) -> Any:
    """Read a config dataclass written by :func:`save_json`."""
    return from_dict(cls, json.loads(Path(path).read_text()))
