"""A training run: build the models by name, fit the GAN with its callbacks, resume, export.

``train(config)`` is what ``python -m sketch2color.train`` runs. The run directory it fills
(config, checkpoints, previews, history, curves, TensorBoard logs, export) is described in
:mod:`sketch2color.runs`; running the same configuration on the same run directory resumes
from its latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color import runs
from sketch2color.config import RunConfig
from sketch2color.data.files import DatasetError
from sketch2color.data.pipeline import PairSplits, conditioning_spec, load_datasets, make_dataset
from sketch2color.evaluation import metrics
from sketch2color.export import export_generator
from sketch2color.models.blocks import cpu_has_native_bfloat16, slow_bfloat16_warning, synchronize_batch_norm
from sketch2color.models.pretrained import PretrainedWeightsUnavailable
from sketch2color.runs import build_discriminator_for, build_generator_for, precision_policy, prepare_run_dir
from sketch2color.training import callbacks as cb
from sketch2color.training import distribute
from sketch2color.training.gan import Pix2Pix
from sketch2color.training.losses import VGGFeatureLoss
from sketch2color.training.optimizers import FusedAdam
from sketch2color.training.schedules import learning_rate

log = logging.getLogger(__name__)


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


def build_feature_loss(config: RunConfig):
    """The VGG16 feature loss when its weight is non-zero (weights per ``train.vgg_weights``)."""
    if not config.train.feature_weight:
        return None
    weights = None if config.train.vgg_weights == "random" else config.train.vgg_weights
    return VGGFeatureLoss(weights=weights)


def build_gan(config: RunConfig, steps_per_epoch: int, sync_bn: bool = False):
    """Generator + discriminator in the trainable GAN model, compiled with the configured Adam.

    Call it inside ``strategy.scope()`` to train distributed; ``sync_bn`` synchronizes batch norm
    across the replicas.
    """
    train = config.train
    total_steps = train.epochs * steps_per_epoch
    decay_steps = train.lr_decay_epochs * steps_per_epoch

    def adam():
        rate = learning_rate(train.learning_rate, total_steps, decay_steps)
        return FusedAdam(rate, beta_1=train.beta_1)

    generator, discriminator = build_generator_for(config), build_discriminator_for(config)
    ema_generator = build_generator_for(config) if train.ema_decay else None
    if sync_bn:
        for network in filter(None, (generator, discriminator, ema_generator)):  # None: no adversary
            synchronize_batch_norm(network)
    gan = Pix2Pix(
        generator,
        discriminator,
        l1_weight=train.l1_weight,
        adversarial_loss=train.adversarial_loss,
        l2_weight=train.l2_weight,
        feature_weight=train.feature_weight,
        tv_weight=train.tv_weight,
        feature_loss=build_feature_loss(config),
        ema_generator=ema_generator,
        ema_decay=train.ema_decay,
    )
    # Off: Keras' "auto" (XLA on one GPU; never on CPU nor under tf.distribute).
    gan.compile(g_optimizer=adam(), d_optimizer=adam(), jit_compile=True if train.jit_compile else "auto")
    return gan


# --------------------------------------------------------------------------- callbacks


def _preview_batch(splits: PairSplits, data_config, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` validation pairs, unaugmented: the same sketches every epoch."""
    files = splits.val_files[:count]
    uncached = dataclasses.replace(data_config, cache="none", batch_size=len(files))
    inputs, targets = next(iter(make_dataset(files, uncached, training=False)))
    return inputs.numpy(), targets.numpy()


def build_metrics_callback(config: RunConfig, generator, splits: PairSplits, fid_asked: bool = False) -> list:
    """[MetricsCallback] scoring the validation split each epoch, or [] when metrics_images is 0.

    FID/KID join every ``fid_every`` epochs with the InceptionV3 weights (downloaded once into
    the Keras cache). When they cannot be had, a run that asked for FID (``fid_asked``: an
    explicit ``--fid-every``, or a weights file) stops here, before training; the default
    schedule goes on without FID after one warning, so the default run works offline.
    """
    train = config.train
    if train.metrics_images == 0 or not splits.val_files:
        return []
    extractor = None
    if train.fid_every:
        weights = None if train.inception_weights == "random" else train.inception_weights
        try:
            extractor = metrics.InceptionFeatureExtractor(weights)
        except PretrainedWeightsUnavailable as error:
            if fid_asked or weights != "imagenet":
                raise
            log.warning("FID/KID off for this run: %s", error)
    return [
        cb.MetricsCallback(
            generator,
            splits.val,
            config.run_dir,
            every_fid=train.fid_every,
            fid_extractor=extractor,
            max_images=train.metrics_images,
            history_file=runs.HISTORY_FILE,
        )
    ]


# --------------------------------------------------------------------------- training


def train(
    config: RunConfig, explicit: set[tuple[str, str]] | None = None, verbose: int | str = "auto"
) -> TrainResult:
    """Train (or resume) the run described by ``config``; see the module docstring for outputs."""
    config, _ = prepare_run_dir(config, explicit)
    # Before any TensorFlow op: a logical CPU split can only happen before TensorFlow starts.
    strategy = distribute.make_strategy(config.train.distribute)
    distribute.check_global_batch(config.data.batch_size, strategy, config.train.distribute)
    gpus = len(tf.config.list_logical_devices("GPU"))
    if warning := slow_bfloat16_warning(config.train.mixed_precision, gpus, cpu_has_native_bfloat16()):
        print(f"warning: {warning}", file=sys.stderr)
    run_dir = Path(config.run_dir)
    fid_asked = ("train", "fid_every") in (explicit or set())
    if config.data.seed is not None:
        keras.utils.set_random_seed(config.data.seed)
    splits = load_datasets(config.data)
    steps_per_epoch = config.train.steps_per_epoch or max(
        1, len(splits.train_files) // config.data.batch_size
    )
    with precision_policy(config.train.mixed_precision), strategy.scope():
        # Everything that owns variables is made here: the networks, the feature loss, the
        # optimizers (in build_gan) and the checkpoint's epoch counter.
        gan = build_gan(config, steps_per_epoch, distribute.uses_sync_bn(config.train.sync_bn, strategy))
        checkpoint = cb.RunCheckpoint(gan, run_dir / runs.CHECKPOINT_DIR, keep=config.train.keep_checkpoints)
        resumed_from = checkpoint.restore_latest()
        if resumed_from:
            print(f"resuming from {resumed_from} (step {checkpoint.step})", file=sys.stderr)
        runs.trim_history(run_dir / runs.HISTORY_FILE, checkpoint.step // steps_per_epoch)
        sketches, targets = _preview_batch(splits, config.data, config.train.preview_samples)
        shown = gan.inference_generator  # the weight average with --ema-decay
        callbacks = [
            cb.ThroughputCallback(config.data.batch_size),
            # First: validation, previews, metrics, the checkpoint and the export use its statistics.
            cb.BatchNormRecalibration(shown, splits.train, config.train.bn_recalibration_batches),
            cb.PreviewCallback(shown, sketches, targets, run_dir / runs.PREVIEW_DIR),
            # Before CSVLogger and TensorBoard: they write the val_psnr/val_ssim/... it adds to the logs.
            *build_metrics_callback(config, shown, splits, fid_asked),
            keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_FILE), append=True),
            cb.LossCurvesCallback(run_dir / runs.HISTORY_FILE, run_dir / runs.LOSSES_PNG),
            keras.callbacks.TensorBoard(str(run_dir / runs.LOGS_DIR), write_graph=False),
            # Last: an epoch's checkpoint is written after its history row (see runs.trim_history).
            cb.CheckpointCallback(checkpoint, config.train.checkpoint_every_steps),
        ]
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        try:
            _fit_remaining(gan, splits, config, steps_per_epoch, checkpoint, callbacks, verbose)
        except KeyboardInterrupt:
            path = checkpoint.save()
            print(
                f"\ninterrupted: saved {path} (step {checkpoint.step}); rerun the same command to resume",
                file=sys.stderr,
            )
            raise
        except tf.errors.OpError as error:
            if "Decode" not in str(error):  # not a file that stopped decoding: a bug to report as is
                raise
            path = checkpoint.save()
            reason = str(error).strip().splitlines()[0][:200]
            raise DatasetError(
                f"a pair file failed to decode during training ({reason}); saved {path} (step "
                f"{checkpoint.step}). Find it with `python data_scripts/verify_dataset.py {splits.root}`, "
                "or rerun with --skip-bad to leave such files out"
            ) from None
        export_dir = None
        if config.train.export:
            export_dir = export_generator(
                shown,
                run_dir / runs.EXPORT_DIR,
                config.data.image_size,
                conditioning_spec(config.data),
            )
    return TrainResult(
        run_dir=run_dir,
        epochs_done=checkpoint.step // steps_per_epoch,
        step=checkpoint.step,
        resumed_from=resumed_from,
        export_dir=export_dir,
        history=runs.read_history(run_dir / runs.HISTORY_FILE),
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
        gan.fit(
            train_data,
            initial_epoch=done_epochs,
            epochs=done_epochs + 1,
            steps_per_epoch=steps_per_epoch - done_in_epoch,
            **common,
        )
        done_epochs += 1
    if done_epochs < epochs:
        gan.fit(
            train_data, initial_epoch=done_epochs, epochs=epochs, steps_per_epoch=steps_per_epoch, **common
        )
