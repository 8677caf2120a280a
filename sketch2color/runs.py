"""The run directory: its file names, its configuration, its checkpoints, and its generator.

A run directory holds everything about one run::

    config.json        the full configuration (data, model, training)
    checkpoints/       generator, discriminator, both optimizers, counters (last few kept)
    previews/          epoch_NNNN.png: fixed validation sketches | prediction | ground truth
    history.csv        per-epoch losses, validation losses and metrics (val_psnr, val_ssim, val_l1,
                       val_fid/val_kid every fid_every epochs), images/s
    losses.png         the loss curves of history.csv
    metrics.png        the validation metric curves
    progression.png    the same validation sketches across epochs (data in progression/)
    logs/              TensorBoard
    export/            SavedModel + generator.keras (when training ends)

Training writes it (:mod:`sketch2color.training`); export, evaluation and colorize read it
through the functions here, so they all rebuild a run's generator the same way.
"""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import tensorflow as tf

from sketch2color.config import (
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    from_dict,
    load_json,
    save_json,
    to_dict,
)
from sketch2color.data.pipeline import model_input_channels
from sketch2color.models import build_discriminator, build_generator
from sketch2color.models.blocks import precision_policy

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"
PREVIEW_DIR = "previews"
LOSSES_PNG = "losses.png"
LOGS_DIR = "logs"
EXPORT_DIR = "export"

# Settings that define the model or the meaning of a step; a resumed run may not change them.
FIXED_ON_RESUME = {
    ("data", "image_size"),
    ("data", "batch_size"),
    ("data", "sketch_side"),
    ("data", "input_mode"),
    ("data", "palette"),
    ("data", "hints"),
    ("model", "generator"),
    ("model", "discriminator"),
    ("model", "generator_kwargs"),
    ("model", "discriminator_kwargs"),
    ("train", "steps_per_epoch"),
}


class RunConfigError(ValueError):
    """A run directory whose saved configuration conflicts with the one requested."""


# --------------------------------------------------------------------------- files


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a run's ``config.json``."""
    return (Path(path) / CONFIG_FILE).is_file()


def find_run_dir(path: str | Path) -> Path | None:
    """The run directory of ``path``: itself, or up to two levels up (export/saved_model)."""
    path = Path(path)
    for candidate in (path, path.parent, path.parent.parent):
        if is_run_dir(candidate):
            return candidate
    return None


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The configuration saved in a run directory; FileNotFoundError if it is not one."""
    config_file = Path(run_dir) / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    return load_json(RunConfig, config_file)


def latest_checkpoint(run_dir: str | Path) -> str | None:
    """Path prefix of the newest checkpoint of a run, or None."""
    return tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR))


def read_history(path: str | Path) -> dict[str, list[float]]:
    """A run's history CSV as columns of floats (empty cells become NaN)."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(float("nan"))
    return columns


def prepare_run_dir(
    config: RunConfig, explicit: set[tuple[str, str]] | None = None
) -> tuple[RunConfig, bool]:
    """Create the run directory, or reload a previous run's config to resume it.

    ``explicit`` names the settings the user gave on this invocation; they override the saved
    ones, except those that would change the model or what a step means.
    """
    run_dir = Path(config.run_dir)
    saved_file = run_dir / CONFIG_FILE
    # Never save a configuration that cannot work: a failed start would otherwise lock the
    # run directory to it.
    config.data.validate()
    if not saved_file.is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        save_json(config, saved_file)
        return config, False
    saved = load_run_config(run_dir)
    requested, merged = to_dict(config), to_dict(saved)
    # Without a checkpoint nothing was trained yet (e.g. the first start failed on its data),
    # so no setting is fixed.
    has_checkpoint = latest_checkpoint(run_dir) is not None
    for section, key in sorted(explicit or set()):
        new, old = requested[section][key], merged[section][key]
        if new == old:
            continue
        if has_checkpoint and (section, key) in FIXED_ON_RESUME:
            raise RunConfigError(
                f"{run_dir}: this run was created with {section}.{key}={old!r}; it cannot resume with "
                f"{new!r}. Use a new --run-dir for a different setup."
            )
        merged[section][key] = new
    merged["run_dir"] = str(run_dir)
    resumed = RunConfig(**{k: v for k, v in merged.items() if k in ("run_dir", "preset")})
    resumed.data = from_dict(DataConfig, merged["data"])
    resumed.model = from_dict(ModelConfig, merged["model"])
    resumed.train = from_dict(TrainConfig, merged["train"])
    save_json(resumed, saved_file)
    return resumed, True


# --------------------------------------------------------------------------- models of a run


def build_generator_for(config: RunConfig) -> keras.Model:
    """The generator named in the config, for its image size and input channels."""
    return build_generator(
        config.model.generator,
        image_size=config.data.image_size,
        input_channels=model_input_channels(config.data),
        **config.model.generator_kwargs,
    )


def build_discriminator_for(config: RunConfig) -> keras.Model | None:
    """The discriminator named in the config (None for "none": no adversary)."""
    if config.model.discriminator == "none":
        return None
    return build_discriminator(
        config.model.discriminator,
        image_size=config.data.image_size,
        input_channels=model_input_channels(config.data),
        **config.model.discriminator_kwargs,
    )


def restore_generator(config: RunConfig, checkpoint: str) -> keras.Model:
    """The run's generator rebuilt in float32 from its config, with the checkpoint's weights."""
    with precision_policy(False):
        generator = build_generator_for(config)
    tf.train.Checkpoint(generator=generator).restore(checkpoint).expect_partial()
    return generator


def restore_latest_generator(run_dir: str | Path) -> tuple[keras.Model, RunConfig]:
    """(generator with the latest checkpoint's weights, the run's config); FileNotFoundError if none."""
    config = load_run_config(run_dir)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint to export yet")
    return restore_generator(config, checkpoint), config


__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "EXPORT_DIR",
    "FIXED_ON_RESUME",
    "HISTORY_FILE",
    "RunConfigError",
    "build_discriminator_for",
    "build_generator_for",
    "find_run_dir",
    "is_run_dir",
    "latest_checkpoint",
    "load_run_config",
    "precision_policy",
    "prepare_run_dir",
    "read_history",
    "restore_generator",
    "restore_latest_generator",
]
