"""The idle tail at the end of ``fit``: seconds from the last step's end to ``fit`` returning.

    python benchmarks/bench_fit_tail.py [--fits 8] [--steps 4]

An iterator dropped before its end waits for tf.data's autotune thread to wake; ``fit`` drops
its iterator when it returns, so with autotuning on, each call idles both cores for a while
(0.3-0.8 s for a few seconds of training, 5-20 s seen after a benchmark's longer ``fit``). The
project's pipelines turn autotuning off (``sketch2color.data.pipeline.pipeline_options``). A
small pix2pix trains ``--fits`` short ``fit`` calls on each kind of dataset, interleaved; the
table shows the tail's median and maximum, and the images/s of the steps themselves.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.data.pipeline import pipeline_options  # noqa: E402
from sketch2color.training import build_gan  # noqa: E402


class StepClock(keras.callbacks.Callback):
    """Remembers when the first step began and the last step ended."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.first = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last = time.perf_counter()


def one_fit(gan, data, steps: int, batch_size: int) -> tuple[float, float]:
    """(idle tail in s, images/s of the steps) of one ``fit`` call."""
    clock = StepClock()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[clock])
    returned = time.perf_counter()
    return returned - clock.last, steps * batch_size / (clock.last - clock.first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args()
    config = RunConfig()
    config.train.ema_decay = 0.0  # the same step as the plain loop: no weight average
    config.data.image_size = args.image_size
    gan = build_gan(config, args.steps)
    shape = (args.batch_size, args.image_size, args.image_size, 3)
    batch = tf.random.uniform(shape, -1, 1, seed=1), tf.random.uniform(shape, -1, 1, seed=2)
    # The pipeline's last stages (a parallel map and a prefetch) over an in-memory batch.
    base = (
        tf.data.Dataset.from_tensors(batch)
        .repeat()
        .map(lambda s, c: (s, c), num_parallel_calls=tf.data.AUTOTUNE)
    )
    datasets = {
        "autotune on (tf.data default)": base.prefetch(tf.data.AUTOTUNE),
        "autotune off (the project's)": base.prefetch(tf.data.AUTOTUNE).with_options(pipeline_options()),
    }
    gan.fit(datasets["autotune off (the project's)"], steps_per_epoch=2, epochs=1, verbose=0)  # trace
    results = {name: [] for name in datasets}
    for _ in range(args.fits):  # interleaved: drift on a shared machine hits both
        for name, data in datasets.items():
            results[name].append(one_fit(gan, data, args.steps, args.batch_size))
    print(
        f"{'dataset':<32} {'tail median':>12} {'tail max':>9} {'steps img/s':>12}"
        f"   ({args.fits} fits x {args.steps} steps)"
    )
    for name, rows in results.items():
        tails, rates = [row[0] for row in rows], [row[1] for row in rows]
        print(
            f"{name:<32} {statistics.median(tails):11.2f}s {max(tails):8.2f}s "
            f"{statistics.median(rates):12.1f}"
        )


if __name__ == "__main__":
    main()
