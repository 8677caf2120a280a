"""Cost of tf.distribute on this machine, and the step time to expect on 2 and 8 GPUs.

    python benchmarks/bench_distribute.py [--image-size 64] [--batch-size 4] [--steps 6] [--repeats 3]
                                          [--quick]

1. Images/s of the run's GAN (``build_gan``) on one device against ``MirroredStrategy`` over 2
   logical CPUs (``SKETCH2COLOR_LOGICAL_CPUS=2``, set here), at the same global batch. Both
   replicas share the same cores, so this measures the overhead of distribution (splitting the
   batch, the all-reduce, synchronized batch norm), never a speed-up. Rounds alternate so drift on
   a shared machine hits both.
2. The all-reduce volume per step: the bytes of the gradients of both networks (float32), for
   the benchmarked model and for the paper's 256 px pix2pix.
3. On paper, the step time of the paper's model on N GPUs with one image per GPU (global batch N),
   from the pix2pix paper's single-GPU figure (Isola et al., "Image-to-Image Translation with
   Conditional Adversarial Networks", CVPR 2017, section 4, "Data requirements and speed": facades,
   400 images x 200 epochs at batch 1 "took less than two hours of training on a single Pascal
   Titan X GPU", so <= 7200 s / 80,000 steps = 0.09 s per step) plus a ring all-reduce of the
   gradients (each GPU sends and receives 2 (N - 1) / N of them) at ``--link-gb-per-s``
   (default 12: PCIe 3.0 x16 in practice, e.g. Kaggle's two T4s; NVLink is 10x more). No overlap
   of the all-reduce with the backward pass is assumed, so it is a pessimistic estimate.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SKETCH2COLOR_LOGICAL_CPUS", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.runs import build_discriminator_for, build_generator_for  # noqa: E402
from sketch2color.training import build_gan  # noqa: E402
from sketch2color.training.distribute import (  # noqa: E402
    check_global_batch,
    make_strategy,
    split_cpu_from_environment,
)

PAPER_STEP_SECONDS = 2 * 3600 / (400 * 200)  # pix2pix paper: facades, < 2 h on one Titan X, batch 1
GPU_COUNTS = (2, 8)
SETUPS = (("none", False), ("mirrored", False), ("none", True))  # (--distribute, --jit-compile)


def gradient_bytes(*networks) -> int:
    """Bytes all-reduced per step: one float32 gradient per trainable weight of the networks."""
    return sum(math.prod(weight.shape) * 4 for net in networks for weight in net.trainable_weights)


def config_for(image_size: int, base_filters: int | None = None) -> RunConfig:
    """The default pix2pix at ``image_size`` (optionally narrower)."""
    config = RunConfig()
    config.data.image_size = image_size
    if base_filters:
        config.model.generator_kwargs = {"base_filters": base_filters}
        config.model.discriminator_kwargs = {"base_filters": base_filters}
    return config


def trained_gan(mode: str, jit: bool, config: RunConfig, batch):
    """(gan, data, replicas) built under ``--distribute mode``'s strategy (with XLA if ``jit``)
    and traced by one short fit."""
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, jit_compile=jit))
    strategy = make_strategy(mode)
    check_global_batch(config.data.batch_size, strategy, mode)
    with strategy.scope():
        gan = build_gan(config, 1, sync_bn=strategy.num_replicas_in_sync > 1)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    return gan, data, strategy.num_replicas_in_sync


def images_per_second(gan, data, steps: int, batch_size: int) -> float:
    """Training images/s of the steps after the first of ``steps`` fit steps: fit's own start-up
    (a new distributed iterator each call) is not a cost per step."""
    ends = []
    # float(): wait for the step, so the time stamp is its end.
    stamp = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append(
            (float(logs["gen_total_loss"]), time.perf_counter())
        )
    )
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[stamp])
    return (steps - 1) * batch_size / (ends[-1][1] - ends[0][1])


def ring_all_reduce_seconds(size_bytes: int, gpus: int, link_gb_per_s: float) -> float:
    """Time of a ring all-reduce: each GPU sends and receives 2 (N - 1) / N of the buffer."""
    return 2 * (gpus - 1) / gpus * size_bytes / (link_gb_per_s * 1e9)


def spread(values: list[float]) -> str:
    """median [min-max] of a list of rates."""
    return f"{statistics.median(values):8.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4, help="the global batch (even)")
    parser.add_argument("--base-filters", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--link-gb-per-s", type=float, default=12.0)
    parser.add_argument("--quick", action="store_true", help="32 px, 8 filters: a smoke test (seconds)")
    args = parser.parse_args()
    if args.quick:
        args.image_size, args.base_filters = 32, 8
    split_cpu_from_environment()  # before any TensorFlow op
    if args.steps < 2:
        parser.error("--steps must be >= 2: the first step of each round is not timed")
    config = config_for(args.image_size, args.base_filters)
    config.data.batch_size = args.batch_size
    shape = (args.batch_size, args.image_size, args.image_size, 3)
    batch = tf.random.uniform(shape, -1, 1, seed=1), tf.random.uniform(shape, -1, 1, seed=2)
    setups = {setup: trained_gan(*setup, config, batch) for setup in SETUPS}
    rates = {setup: [] for setup in setups}
    for _ in range(args.repeats):
        for setup, (gan, data, _) in setups.items():
            rates[setup].append(images_per_second(gan, data, args.steps, args.batch_size))

    print(
        f"\n{args.image_size} px, {args.base_filters} base filters, global batch {args.batch_size}: "
        f"images/s, median [min-max] of {args.repeats} x {args.steps} steps"
    )
    for (mode, jit), (_, _, replicas) in setups.items():
        flags = f"--distribute {mode}" + (" --jit-compile" if jit else "")
        print(
            f"  {replicas} replica(s), {args.batch_size // replicas}/replica ({flags}): "
            f"{spread(rates[mode, jit])}"
        )
    one, two, xla = (statistics.median(rates[setup]) for setup in SETUPS)
    print(
        f"  overhead of 2 logical CPU replicas on the same cores: {100 * (1 - two / one):.0f}% fewer images/s"
    )

    print(f"  XLA (--jit-compile) on one device: {xla / one:.2f}x the images/s without it")
    gan = setups[SETUPS[0]][0]
    measured_bytes = gradient_bytes(gan.generator, gan.discriminator)
    paper = config_for(256)  # the networks alone: no optimizer slots to build
    paper_bytes = gradient_bytes(build_generator_for(paper), build_discriminator_for(paper))
    print(
        f"\nall-reduce per step (float32 gradients of G + D): {measured_bytes / 1e6:.1f} MB here, "
        f"{paper_bytes / 1e6:.1f} MB for the paper's 256 px pix2pix (64 base filters)"
    )

    print(
        f"\non paper, 256 px pix2pix, 1 image per GPU, paper's single-GPU step {PAPER_STEP_SECONDS:.3f} s, "
        f"all-reduce at {args.link_gb_per_s:g} GB/s:"
    )
    print(f"  1 GPU: {PAPER_STEP_SECONDS:.3f} s/step, {1 / PAPER_STEP_SECONDS:.1f} images/s")
    for gpus in GPU_COUNTS:
        step = PAPER_STEP_SECONDS + ring_all_reduce_seconds(paper_bytes, gpus, args.link_gb_per_s)
        print(
            f"  {gpus} GPUs: {step:.3f} s/step, {gpus / step:.1f} images/s "
            f"({gpus * PAPER_STEP_SECONDS / step:.1f}x one GPU)"
        )


if __name__ == "__main__":
    main()
