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

import contextlib
import csv
import logging
import re
from pathlib import Path

import keras
import tensorflow as tf

from sketch2color.config import (
    ConfigError,
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
from sketch2color.models.hint_spread import DEFAULT_SIGMAS

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"
PREVIEW_DIR = "previews"
LOSSES_PNG = "losses.png"
LOGS_DIR = "logs"
EXPORT_DIR = "export"

log = logging.getLogger(__name__)

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
    ("model", "hint_spread"),  # the generator's first layer sees 8 more channels
    ("train", "steps_per_epoch"),
    ("train", "ema_decay"),  # whether the checkpoints hold a weight average at all
}


class RunConfigError(ValueError):
    """A run directory whose saved configuration conflicts with the one requested."""


class CheckpointError(RuntimeError):
    """A run whose checkpoints exist but none of them can be read back."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint that could not be written (disk full, folder gone); the earlier ones are intact."""


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
    try:
        return load_json(RunConfig, config_file)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as error:  # JSON or field errors
        raise ConfigError(
            f"{config_file}: damaged run configuration ({str(error)[:200]}); "
            "restore it or use a new --run-dir"
        ) from None


def checkpoint_prefixes(checkpoint_dir: str | Path) -> list[str]:
    """The checkpoints in a folder, newest (highest step) first, found by their ``ckpt-N.index`` files.

    The files, not TensorFlow's ``checkpoint`` state file, are the record: a lost or garbled state
    file must not hide three good checkpoints and silently restart a run from step 0.
    """
    steps = []
    for index in Path(checkpoint_dir).glob("ckpt-*.index"):
        match = re.fullmatch(r"ckpt-(\d+)\.index", index.name)
        if match:
            steps.append(int(match.group(1)))
    return [str(Path(checkpoint_dir) / f"ckpt-{step}") for step in sorted(steps, reverse=True)]


def latest_checkpoint(run_dir: str | Path) -> str | None:
    """Path prefix of the newest checkpoint of a run, or None."""
    prefixes = checkpoint_prefixes(Path(run_dir) / CHECKPOINT_DIR)
    return prefixes[0] if prefixes else None


def restore_newest_readable(
    checkpoint: tf.train.Checkpoint, checkpoint_dir: str | Path, partial: bool
) -> str | None:
    """Restore the newest checkpoint that reads back whole; returns its prefix (None: there is none).

    A newer one that cannot be read (a kill or a full disk during its write, a damaged file) is
    skipped with a one-line warning; CheckpointError when none can be read. ``partial``: the
    checkpoint may hold more than ``checkpoint`` (e.g. only the generator is restored).
    """
    prefixes = checkpoint_prefixes(checkpoint_dir)
    for prefix in prefixes:
        try:
            status = checkpoint.restore(prefix)
            if partial:
                status.expect_partial()
            else:
                status.assert_existing_objects_matched()
        # What TensorFlow raises for damaged files varies: DataLossError, NotFoundError (OpError),
        # IndexError "Read less bytes than requested" for a truncated data file, ValueError, and
        # AssertionError when objects do not match.
        except (tf.errors.OpError, ValueError, AssertionError, IndexError, OSError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            log.warning("%s: unreadable checkpoint, skipped (%s)", prefix, reason[:200])
            continue
        return prefix
    if prefixes:
        raise CheckpointError(
            f"{checkpoint_dir}: none of its {len(prefixes)} checkpoint(s) can be read; move the folder away "
            "to start again"
        )
    return None


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


def trim_history(path: str | Path, epochs_done: int) -> int:
    """Keep only the rows of the epochs the restored checkpoint has finished; returns rows dropped.

    The epoch-end checkpoint is written after the epoch's history row, so a run killed between
    the two redoes that epoch on resume: without this its row would appear twice.
    """
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "epoch" not in rows[0]:
        return 0
    column = rows[0].index("epoch")
    kept = [rows[0]] + [
        row for row in rows[1:] if len(row) > column and _epoch_number(row[column]) < epochs_done
    ]
    if len(kept) == len(rows):
        return 0
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)
    temporary.replace(path)
    return len(rows) - len(kept)


def _epoch_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")  # a damaged row: dropped, the epoch is redone


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
    config.train.validate()
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir}: exists and is not a folder")
    if not saved_file.is_file():
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_json(config, saved_file)
        except OSError as error:
            raise ConfigError(
                f"--run-dir {run_dir}: cannot write the run folder ({error.strerror or error})"
            ) from None
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
    """The generator named in the config, for its image size and input channels.

    A size or setting the architecture cannot take (e.g. --image-size 48 for a U-Net that halves
    the image 5 times) is a ConfigError naming it, raised before any training starts.
    """
    with _as_config_error(f"generator {config.model.generator!r} at --image-size {config.data.image_size}"):
        return build_generator(
            config.model.generator,
            image_size=config.data.image_size,
            input_channels=model_input_channels(config.data),
            **generator_options(config),
        )


def generator_options(config: RunConfig) -> dict:
    """The generator builder's keyword arguments: ``generator_kwargs``, and the hint spreading
    scales when the run has hints and keeps ``hint_spread`` on."""
    options = dict(config.model.generator_kwargs)
    if config.data.hints and config.model.hint_spread:
        options.setdefault("hint_spread", DEFAULT_SIGMAS)
    return options


def build_discriminator_for(config: RunConfig) -> keras.Model | None:
    """The discriminator named in the config (None for "none": no adversary)."""
    if config.model.discriminator == "none":
        return None
    with _as_config_error(
        f"discriminator {config.model.discriminator!r} at --image-size {config.data.image_size}"
    ):
        return build_discriminator(
            config.model.discriminator,
            image_size=config.data.image_size,
            input_channels=model_input_channels(config.data),
            **config.model.discriminator_kwargs,
        )


@contextlib.contextmanager
def _as_config_error(what: str):
    """The builders' ValueError (a size or a setting the network cannot take) as a ConfigError."""
    try:
        yield
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:  # TypeError: an unknown generator_kwargs key
        raise ConfigError(f"{what}: {error}") from error


def restore_generator(
    run_dir: str | Path, config: RunConfig | None = None, averaged: bool | None = None
) -> tuple[keras.Model, RunConfig, str]:
    """(the run's generator rebuilt in float32 with the newest readable checkpoint's weights, its
    config, that checkpoint's prefix); FileNotFoundError when the run has no checkpoint yet.

    ``averaged``: the moving average of the weights (``--ema-decay``) or the trained weights
    themselves; by default the average when the run kept one."""
    config = config or load_run_config(run_dir)
    averaged = bool(config.train.ema_decay) if averaged is None else averaged
    if averaged and not config.train.ema_decay:
        raise ConfigError(f"{run_dir}: this run kept no weight average (it was trained with --ema-decay 0)")
    with precision_policy(False):
        generator = build_generator_for(config)
    # The checkpoint's name for the averaged copy: see training.callbacks.RunCheckpoint.
    parts = {"ema_generator" if averaged else "generator": generator}
    prefix = restore_newest_readable(tf.train.Checkpoint(**parts), Path(run_dir) / CHECKPOINT_DIR, True)
    if prefix is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint yet")
    return generator, config, prefix


__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "CheckpointError",
    "EXPORT_DIR",
    "FIXED_ON_RESUME",
    "HISTORY_FILE",
    "RunConfigError",
    "build_discriminator_for",
    "build_generator_for",
    "checkpoint_prefixes",
    "find_run_dir",
    "is_run_dir",
    "latest_checkpoint",
    "load_run_config",
    "precision_policy",
    "prepare_run_dir",
    "read_history",
    "trim_history",
    "restore_generator",
    "restore_newest_readable",
]
