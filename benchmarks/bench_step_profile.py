"""Where one training step's time goes: TensorFlow's profiler over a few ``fit`` steps, by op family.

    python benchmarks/bench_step_profile.py [--rows 128x4 256x1] [--steps 3]

The default pix2pix (U-Net + PatchGAN, BCE + 100 L1, Adam) trains on an in-memory batch; after
a warm-up ``fit`` has traced the step, ``tf.profiler`` records ``--steps`` more. Every kernel
the host's compute threads ran is read from the trace (its XPlane file) and added to a family:
which network, forward or gradient, and what kind of op (convolution, transposed convolution,
batch norm, element-wise, concatenation, the Adam update, ...). Shares are of the summed kernel
time; "cores busy" is that sum over (wall time x cores): below 100% the cores waited (on the
executor, on each other, on Python). docs/performance.md discusses the figures.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import tempfile
import time
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.data.pipeline import pipeline_options  # noqa: E402
from sketch2color.training import build_gan, loop  # noqa: E402
from sketch2color.training.optimizers import FusedAdam  # noqa: E402

OPTIMIZERS = {"fused": FusedAdam, "keras": keras.optimizers.Adam}

ADAM_SCOPE = re.compile(r"/adam(_\d+)?/")  # Keras names the two optimizers adam and adam_1
# (test on the kernel's "path:OpType" name, family); the first match wins.
FAMILIES = (
    (lambda path, op: ADAM_SCOPE.search(path) or "Adam" in op, "Adam update (all variables)"),
    (lambda path, op: "Cast" in op, "casts"),
    (lambda path, op: "conv_transpose" in path and "gradient_tape" in path, "transposed conv, gradient"),
    (lambda path, op: "conv_transpose" in path, "transposed conv, forward"),
    (lambda path, op: "Conv2D" in op and "gradient_tape" in path, "conv, gradient"),
    (lambda path, op: "Conv2D" in op, "conv, forward"),
    (lambda path, op: "BatchNorm" in op or "batch_norm" in path, "batch norm"),
    (lambda path, op: "dropout" in path, "dropout"),
    (
        lambda path, op: "Concat" in op or "concat" in path or "Slice" in op,
        "concatenation (and its gradient)",
    ),
)


def family_of(name: str) -> str:
    """The family of a kernel event named ``path:OpType``."""
    path, _, op = name.rpartition(":")
    network = "G" if "generator" in path else "D" if "discriminator" in path else ""
    for matches, family in FAMILIES:
        if matches(path, op):
            return f"{network} {family}".strip() if "Adam" not in family else family
    return f"{network} element-wise and other".strip()


def profile(
    image_size: int, batch_size: int, steps: int, adam: str = "fused"
) -> tuple[collections.Counter, float]:
    """(kernel milliseconds by family, wall seconds) of ``steps`` traced training steps, with the
    project's one-pass Adam ("fused") or Keras' own ("keras")."""
    config = RunConfig()
    config.train.ema_decay = 0.0  # the same step as the plain loop: no weight average
    config.data.image_size = image_size
    with mock.patch.object(loop, "FusedAdam", OPTIMIZERS[adam]):
        gan = build_gan(config, steps)
    shape = (batch_size, image_size, image_size, 3)
    batch = tf.random.uniform(shape, -1, 1, seed=1), tf.random.uniform(shape, -1, 1, seed=2)
    data = tf.data.Dataset.from_tensors(batch).repeat().with_options(pipeline_options())
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace and warm up outside the profile
    log_dir = tempfile.mkdtemp(prefix="step-profile-")
    tf.profiler.experimental.start(log_dir)
    start = time.perf_counter()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(glob.glob(f"{log_dir}/**/*.xplane.pb", recursive=True)[0], "rb") as trace:
        space.ParseFromString(trace.read())
    plane = next(plane for plane in space.planes if plane.name == "/host:CPU")
    milliseconds = collections.Counter()
    for line in plane.lines:
        if not line.name.startswith(("tf_Compute", "tf_numa")):  # the threads that run kernels
            continue
        for event in line.events:
            name = plane.event_metadata[event.metadata_id].name
            if ":" in name and "::" not in name:  # a kernel ("path:OpType"), not executor bookkeeping
                milliseconds[family_of(name)] += event.duration_ps / 1e9
    return milliseconds, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["128x4", "256x1"], help="SIZExBATCH")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--adam", nargs="+", choices=list(OPTIMIZERS), default=list(OPTIMIZERS))
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    for row in args.rows:
        image_size, batch_size = (int(part) for part in row.split("x"))
        for adam in args.adam:  # side by side, in one process
            milliseconds, wall = profile(image_size, batch_size, args.steps, adam)
            total = sum(milliseconds.values())
            print(
                f"\n{image_size} px, batch {batch_size}, {adam} Adam: {args.steps} steps in {wall:.2f} s "
                f"({args.steps * batch_size / wall:.2f} images/s); kernels {total / 1000:.2f} s, "
                f"cores busy {total / 1000 / (wall * cores):.0%} of {cores}"
            )
            print(f"{'family':<42} {'ms/step':>8} {'share':>6}")
            for family, value in milliseconds.most_common():
                print(f"{family:<42} {value / args.steps:8.1f} {value / total:6.1%}")


if __name__ == "__main__":
    main()
