"""Training runs: build the models by name, fit the GAN with callbacks, resume, export.

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

Running the same configuration on the same run directory resumes from its latest checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color import callbacks as cb
from sketch2color.config import ConfigError, RunConfig, load_json, save_json, to_dict
from sketch2color.data import PairSplits, conditioning_spec, load_datasets, make_dataset

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"

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


@dataclasses.dataclass
class TrainResult:
    """What a finished (or interrupted) run left behind."""

    run_dir: Path
    epochs_done: int
    step: int
    resumed_from: str | None
    export_dir: Path | None
    history: dict


# --------------------------------------------------------------------------- models


def build_generator_for(config: RunConfig) -> keras.Model:
    """The generator named in the config, for its image size and input channels."""
    from sketch2color.data import model_input_channels
    from sketch2color.models import build_generator

    return build_generator(
        config.model.generator,
        image_size=config.data.image_size,
        input_channels=model_input_channels(config.data),
        **config.model.generator_kwargs,
    )


def build_discriminator_for(config: RunConfig) -> keras.Model | None:
    """The discriminator named in the config (None for "none": no adversary)."""
    from sketch2color.data import model_input_channels
    from sketch2color.models import build_discriminator

    if config.model.discriminator == "none":
        return None
    return build_discriminator(
        config.model.discriminator,
        image_size=config.data.image_size,
        input_channels=model_input_channels(config.data),
        **config.model.discriminator_kwargs,
    )


def build_feature_loss(config: RunConfig):
    """The VGG16 feature loss when its weight is non-zero (weights per ``train.vgg_weights``)."""
    if not config.train.feature_weight:
        return None
    from sketch2color.losses import VGGFeatureLoss

    weights = None if config.train.vgg_weights == "random" else config.train.vgg_weights
    return VGGFeatureLoss(weights=weights)


def build_gan(config: RunConfig, steps_per_epoch: int):
    """Generator + discriminator in the trainable GAN model, compiled with the configured Adam."""
    from sketch2color.gan import Pix2Pix
    from sketch2color.schedules import learning_rate

    train = config.train
    total_steps = train.epochs * steps_per_epoch
    decay_steps = train.lr_decay_epochs * steps_per_epoch

    def adam():
        rate = learning_rate(train.learning_rate, total_steps, decay_steps)
        return keras.optimizers.Adam(rate, beta_1=train.beta_1)

    gan = Pix2Pix(
        build_generator_for(config),
        build_discriminator_for(config),
        l1_weight=train.l1_weight,
        adversarial_loss=train.adversarial_loss,
        l2_weight=train.l2_weight,
        feature_weight=train.feature_weight,
        tv_weight=train.tv_weight,
        feature_loss=build_feature_loss(config),
    )
    gan.compile(g_optimizer=adam(), d_optimizer=adam())
    return gan


@contextlib.contextmanager
def precision_policy(mixed: bool):
    """Build and train under ``mixed_bfloat16`` when asked, restoring the global policy after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


# --------------------------------------------------------------------------- run directory


def latest_checkpoint(run_dir: str | Path) -> str | None:
    """Path prefix of the newest checkpoint of a run, or None."""
    return tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR))


def prepare_run_dir(config: RunConfig, explicit: set[tuple[str, str]] | None = None) -> tuple[RunConfig, bool]:
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
    saved = load_json(RunConfig, saved_file)
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
    from sketch2color.config import DataConfig, ModelConfig, TrainConfig, from_dict

    resumed.data = from_dict(DataConfig, merged["data"])
    resumed.model = from_dict(ModelConfig, merged["model"])
    resumed.train = from_dict(TrainConfig, merged["train"])
    save_json(resumed, saved_file)
    return resumed, True


def _preview_batch(splits: PairSplits, data_config, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` validation pairs, unaugmented: the same sketches every epoch."""
    files = splits.val_files[:count]
    uncached = dataclasses.replace(data_config, cache="none", batch_size=len(files))
    inputs, targets = next(iter(make_dataset(files, uncached, training=False)))
    return inputs.numpy(), targets.numpy()


def build_metrics_callback(config: RunConfig, generator, splits: PairSplits) -> list:
    """[MetricsCallback] scoring the validation split each epoch, or [] when metrics_images is 0.

    FID/KID join every ``fid_every`` epochs when the Inception weights are on disk; offline
    without them the run goes on without FID (one warning), since training must not stop for it.
    """
    from sketch2color import metrics
    from sketch2color.monitoring import MetricsCallback

    train = config.train
    if train.metrics_images == 0 or not splits.val_files:
        return []
    extractor = None
    if train.fid_every:
        weights = None if train.inception_weights == "random" else train.inception_weights
        try:
            extractor = metrics.InceptionFeatureExtractor(weights)
        except metrics.InceptionWeightsError as error:
            if weights != "imagenet":  # a file the user named: a mistake worth stopping for
                raise ConfigError(f"--inception-weights: {error}") from error
            log.warning(
                "FID/KID off for this run: no InceptionV3 ImageNet weights in %s (offline?). Put %s there or pass "
                "--inception-weights FILE to get them; --fid-every 0 silences this.",
                metrics.keras_cache_dir(), metrics.INCEPTION_WEIGHTS_FILE,
            )
    return [
        MetricsCallback(
            generator, splits.val, config.run_dir, every_fid=train.fid_every, fid_extractor=extractor,
            max_images=train.metrics_images, history_file=HISTORY_FILE,
        )
    ]


# --------------------------------------------------------------------------- training


def train(config: RunConfig, explicit: set[tuple[str, str]] | None = None, verbose: int | str = "auto") -> TrainResult:
    """Train (or resume) the run described by ``config``; see the module docstring for outputs."""
    config, _ = prepare_run_dir(config, explicit)
    run_dir = Path(config.run_dir)
    if config.data.seed is not None:
        keras.utils.set_random_seed(config.data.seed)
    splits = load_datasets(config.data)
    steps_per_epoch = config.train.steps_per_epoch or max(1, len(splits.train_files) // config.data.batch_size)
    with precision_policy(config.train.mixed_precision):
        gan = build_gan(config, steps_per_epoch)
        checkpoint = cb.RunCheckpoint(gan, run_dir / CHECKPOINT_DIR, keep=config.train.keep_checkpoints)
        resumed_from = checkpoint.restore_latest()
        if resumed_from:
            print(f"resuming from {resumed_from} (step {checkpoint.step})", file=sys.stderr)
        sketches, targets = _preview_batch(splits, config.data, config.train.preview_samples)
        callbacks = [
            cb.ThroughputCallback(config.data.batch_size),
            # First: validation, previews, metrics, the checkpoint and the export use its statistics.
            cb.BatchNormRecalibration(gan.generator, splits.train, config.train.bn_recalibration_batches),
            cb.CheckpointCallback(checkpoint, config.train.checkpoint_every_steps),
            cb.PreviewCallback(gan.generator, sketches, targets, run_dir / "previews"),
            # Before CSVLogger and TensorBoard: they write the val_psnr/val_ssim/... it adds to the logs.
            *build_metrics_callback(config, gan.generator, splits),
            keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True),
            cb.LossCurvesCallback(run_dir / HISTORY_FILE, run_dir / "losses.png"),
            keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False),
        ]
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        try:
            _fit_remaining(gan, splits, config, steps_per_epoch, checkpoint, callbacks, verbose)
        except KeyboardInterrupt:
            path = checkpoint.save()
            print(f"\ninterrupted: saved {path} (step {checkpoint.step}); rerun the same command to resume", file=sys.stderr)
            raise
        export_dir = None
        if config.train.export:
            from sketch2color.export import export_generator

            export_dir = export_generator(gan.generator, run_dir / "export", config.data.image_size, conditioning_spec(config.data))
    return TrainResult(
        run_dir=run_dir,
        epochs_done=checkpoint.step // steps_per_epoch,
        step=checkpoint.step,
        resumed_from=resumed_from,
        export_dir=export_dir,
        history=cb.read_history(run_dir / HISTORY_FILE),
    )


def _fit_remaining(gan, splits, config, steps_per_epoch, checkpoint, callbacks, verbose) -> None:
    """Run the epochs not done yet, finishing a partly done epoch first.

    Progress is counted in generator steps (restored with the optimizer), so a run killed
    mid-epoch continues from its last checkpoint instead of repeating the epoch.
    """
    epochs = config.train.epochs
    done_epochs, done_in_epoch = divmod(checkpoint.step, steps_per_epoch)
    train_data = splits.train.repeat()
    common = dict(
        validation_data=splits.val,
        validation_steps=config.train.validation_steps,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the tf.data pipeline shuffles
    )
    if done_in_epoch and done_epochs < epochs:
        gan.fit(train_data, initial_epoch=done_epochs, epochs=done_epochs + 1, steps_per_epoch=steps_per_epoch - done_in_epoch, **common)
        done_epochs += 1
    if done_epochs < epochs:
        gan.fit(train_data, initial_epoch=done_epochs, epochs=epochs, steps_per_epoch=steps_per_epoch, **common)
