"""Images/s of ``fit`` with the custom train_step against the tutorial's plain tf.function loop.

    python benchmarks/bench_train.py [--steps 6] [--repeats 3] [--quick]

Both train the same pix2pix generator and discriminator on the same in-memory batches, side by
side in one process (rounds alternate so drift on a shared machine hits both). Target: ratio
fit / loop >= 1.0. A third column, ``fit`` with the default weight average (``--ema-decay
0.999``; the other two keep none), gives that average's cost per step. The peak resident
memory of 256 px training (the default setup) is measured in a fresh subprocess so that nothing
else in this process inflates it.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.data.pipeline import pipeline_options  # noqa: E402
from sketch2color.runs import precision_policy  # noqa: E402
from sketch2color.training import build_gan  # noqa: E402

BCE = tf.keras.losses.BinaryCrossentropy(from_logits=True)


def tutorial_step(generator, discriminator, g_opt, d_opt, l1_weight=100.0):
    """The TensorFlow pix2pix tutorial's train step (one tape per network, losses inline)."""

    @tf.function
    def step(sketch, target):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(sketch, training=True)
            real_logits = discriminator([sketch, target], training=True)
            fake_logits = discriminator([sketch, fake], training=True)
            g_loss = BCE(tf.ones_like(fake_logits), fake_logits) + l1_weight * tf.reduce_mean(
                tf.abs(target - fake)
            )
            d_loss = 0.5 * (
                BCE(tf.ones_like(real_logits), real_logits) + BCE(tf.zeros_like(fake_logits), fake_logits)
            )
        g_opt.apply_gradients(
            zip(g_tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
        )
        d_opt.apply_gradients(
            zip(d_tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        )
        return g_loss, d_loss

    return step


def random_batch(image_size: int, batch_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """A fixed random (sketch, target) batch in [-1, 1]."""
    shape = (batch_size, image_size, image_size, 3)
    return tf.random.uniform(shape, -1, 1, seed=1), tf.random.uniform(shape, -1, 1, seed=2)


def in_memory_data(batch) -> tf.data.Dataset:
    """``batch`` repeated forever, without autotuning as the project's pipelines: fit's end
    would otherwise idle for seconds."""
    return tf.data.Dataset.from_tensors(batch).repeat().with_options(pipeline_options())


def time_fit(gan, data, steps: int, batch_size: int, callbacks=()) -> float:
    """Images/s of one ``fit`` call of ``steps`` steps."""
    start = time.perf_counter()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=list(callbacks))
    return steps * batch_size / (time.perf_counter() - start)


def time_loop(step, data, steps: int, batch_size: int) -> float:
    """Images/s of ``steps`` calls of the plain loop's ``step``."""
    start = time.perf_counter()
    for sketch, target in data.take(steps):
        g_loss, _ = step(sketch, target)
    float(g_loss)  # wait for the last step
    return steps * batch_size / (time.perf_counter() - start)


def compare(
    image_size: int, batch_size: int, steps: int, repeats: int, mixed: bool = False
) -> tuple[float, float, float]:
    """Median images/s of (fit, plain loop, fit with the default weight average) for one size and
    batch (all in mixed_bfloat16 if ``mixed``). fit and the loop do the same math; the third shows
    what the average (``--ema-decay 0.999``, the default) costs per step."""
    config = RunConfig()
    config.data.image_size = image_size
    config.train.mixed_precision = mixed
    averaged_config = copy.deepcopy(config)
    config.train.ema_decay = 0.0  # the plain loop keeps no average
    with precision_policy(mixed):
        fit_gan, loop_gan = build_gan(config, steps), build_gan(config, steps)
        averaged_gan = build_gan(averaged_config, steps)
    batch = random_batch(image_size, batch_size)
    data = in_memory_data(batch)
    step = tutorial_step(
        loop_gan.generator, loop_gan.discriminator, loop_gan.g_optimizer, loop_gan.d_optimizer
    )
    for gan in (fit_gan, averaged_gan):  # trace all three before timing
        gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    step(*batch)
    fit_rates, loop_rates, averaged_rates = [], [], []
    for _ in range(repeats):
        fit_rates.append(time_fit(fit_gan, data, steps, batch_size))
        loop_rates.append(time_loop(step, data, steps, batch_size))
        averaged_rates.append(time_fit(averaged_gan, data, steps, batch_size))
    return tuple(statistics.median(rates) for rates in (fit_rates, loop_rates, averaged_rates))


def peak_memory_mib(image_size: int, steps: int) -> float:
    """Peak RSS (MiB) of a fresh process that trains ``steps`` steps at ``image_size``, batch 1."""
    code = (
        "import os, resource, tensorflow as tf\n"
        "from sketch2color.config import RunConfig\nfrom sketch2color.training import build_gan\n"
        f"c = RunConfig(); c.data.image_size = {image_size}\n"
        f"g = build_gan(c, {steps})\n"
        f"b = tf.random.uniform((1, {image_size}, {image_size}, 3), -1, 1)\n"
        "g.fit(tf.data.Dataset.from_tensors((b, b)).repeat(), "
        f"steps_per_epoch={steps}, epochs=1, verbose=0)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="one small 64 px row and no memory run (a smoke test, seconds)"
    )
    args = parser.parse_args()
    rows = []
    setups = ((64, 2, False),) if args.quick else ((256, 1, False), (256, 1, True), (128, 4, False))
    for image_size, batch_size, mixed in setups:
        rates = compare(image_size, batch_size, args.steps, args.repeats, mixed)
        rows.append((image_size, batch_size, mixed, *rates))
    memory = None if args.quick else peak_memory_mib(256, args.steps)
    print(
        f"\n{'size':>5s} {'batch':>5s} {'precision':>15s} {'fit img/s':>10s} {'loop img/s':>11s} "
        f"{'fit/loop':>9s} {'+average img/s':>15s} {'+average/fit':>13s}"
        f"   (median of {args.repeats} x {args.steps} steps)"
    )
    for image_size, batch_size, mixed, fit_rate, loop_rate, averaged_rate in rows:
        print(
            f"{image_size:5d} {batch_size:5d} {'mixed_bfloat16' if mixed else 'float32':>15s} "
            f"{fit_rate:10.2f} {loop_rate:11.2f} {fit_rate / loop_rate:9.2f} "
            f"{averaged_rate:15.2f} {averaged_rate / fit_rate:13.2f}"
        )
    if memory is not None:
        print(f"peak RSS of 256 px training (batch 1, fresh process): {memory:.0f} MiB")
        float32, bf16 = rows[0][3], rows[1][3]
        print(f"mixed_bfloat16 / float32 (fit, 256 px, batch 1): {bf16 / float32:.2f}x")
    print("target: fit/loop >= 1.0")


if __name__ == "__main__":
    main()
