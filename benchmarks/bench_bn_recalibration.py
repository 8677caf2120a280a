"""Validation scores of a run's checkpoints under three batch-norm modes, side by side.

    python benchmarks/bench_bn_recalibration.py RUN_DIR [--batches 20] [--val-batches 20]

For each kept checkpoint of RUN_DIR (dropout off in every mode):

* ``stored``: the moving statistics as saved (``training=False``);
* ``recalibrated``: moving statistics recomputed from ``--batches`` training batches under the
  checkpoint's weights (what training now does before validation, previews and checkpoints);
* ``batch``: each validation batch normalized by its own statistics (the pix2pix paper's test mode).

A gap between ``stored`` and ``batch`` that ``recalibrated`` closes means the stored statistics
lag the weights. Checkpoints written at an epoch end by current training are already
recalibrated, so run this on mid-epoch checkpoints or runs made with --bn-recalibration-batches 0.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from sketch2color.config import RunConfig, load_json  # noqa: E402
from sketch2color.data import load_datasets  # noqa: E402
from sketch2color.evaluation import metrics  # noqa: E402
from sketch2color.models.blocks import all_layers  # noqa: E402
from sketch2color.runs import CHECKPOINT_DIR, CONFIG_FILE, build_generator_for  # noqa: E402
from sketch2color.training.callbacks import recalibrate_batch_norm  # noqa: E402


def score(generator, batches, training: bool) -> dict[str, float]:
    """Mean PSNR / SSIM / L1 (0..255) of the generator on ``batches``."""
    totals = metrics.MetricTotals()
    for inputs, targets in batches:
        totals.update(tf.clip_by_value(generator(inputs, training=training), -1.0, 1.0), targets)
    return totals.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument(
        "--batches", type=int, default=20, help="training batches for the recalibration (default 20)"
    )
    parser.add_argument("--val-batches", type=int, default=20, help="validation batches scored (default 20)")
    args = parser.parse_args()

    config = load_json(RunConfig, os.path.join(args.run_dir, CONFIG_FILE))
    splits = load_datasets(config.data)
    validation = list(splits.val.take(args.val_batches))
    generator = build_generator_for(config)
    for layer in all_layers(generator):
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0  # compare batch-norm modes only
    state = tf.train.get_checkpoint_state(os.path.join(args.run_dir, CHECKPOINT_DIR))
    if state is None:
        raise SystemExit(f"error: {args.run_dir}: no checkpoints")
    images = sum(int(x.shape[0]) for x, _ in validation)
    print(f"{args.run_dir}: {images} validation images, recalibration on {args.batches} training batches")
    print(f"{'checkpoint':14s} {'stored PSNR/L1':>16s} {'recalibrated':>16s} {'batch stats':>16s}")
    for path in state.all_model_checkpoint_paths:
        checkpoint = tf.train.Checkpoint(generator=generator)
        checkpoint.restore(path).expect_partial()
        stored = score(generator, validation, training=False)
        batch = score(generator, validation, training=True)  # updates moving statistics: restore below
        checkpoint.restore(path).expect_partial()
        recalibrate_batch_norm(generator, splits.train.take(args.batches))
        recalibrated = score(generator, validation, training=False)
        cells = [f"{s['psnr']:6.2f} / {s['l1']:5.1f}" for s in (stored, recalibrated, batch)]
        print(f"{os.path.basename(path):14s} {cells[0]:>16s} {cells[1]:>16s} {cells[2]:>16s}")


if __name__ == "__main__":
    main()
