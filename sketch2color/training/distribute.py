"""Which devices a run trains on: the tf.distribute strategy, picked in one place.

``--distribute`` modes:

- ``auto`` (default): ``MirroredStrategy`` over the GPUs when more than one is visible, else
  TensorFlow's default strategy (one device);
- ``none``: the default strategy, whatever is visible;
- ``mirrored``: ``MirroredStrategy`` over every visible GPU, or over the logical CPUs when there
  is no GPU (with ``ReductionToOneDevice``: NCCL, its default all-reduce, is GPU-only);
- ``multi-worker``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``; refused for now (by
  ``TrainConfig.validate`` too, before a run folder is written), for the upstream defects below.

``--batch-size`` is the global batch: ``fit`` splits each batch of the tf.data pipeline across
the replicas, so it must divide by their number.

``SKETCH2COLOR_LOGICAL_CPUS=N`` splits the CPU into N logical devices before TensorFlow starts
(``tf.config.set_logical_device_configuration``), so ``--distribute mirrored`` runs N replicas on
a machine without GPUs: the tests and ``benchmarks/bench_distribute.py`` use it. On CPU this
measures the cost of distribution, never a speed-up (the replicas share the same cores).
"""

from __future__ import annotations

import contextlib
import os
import sys

import tensorflow as tf

from sketch2color.config import DISTRIBUTE_MODES, ConfigError, check_distribute_mode

LOGICAL_CPUS_VARIABLE = "SKETCH2COLOR_LOGICAL_CPUS"

__all__ = [
    "DISTRIBUTE_MODES",
    "LOGICAL_CPUS_VARIABLE",
    "check_global_batch",
    "make_strategy",
    "split_cpu_from_environment",
    "uses_sync_bn",
]


def split_cpu_from_environment() -> int:
    """Split the CPU into ``$SKETCH2COLOR_LOGICAL_CPUS`` logical devices; returns the CPU device count."""
    text = os.environ.get(LOGICAL_CPUS_VARIABLE, "").strip()
    if not text:
        return len(tf.config.list_logical_devices("CPU"))
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{LOGICAL_CPUS_VARIABLE} must be a whole number >= 1, got {text!r}")
    count = int(text)
    cpu = tf.config.list_physical_devices("CPU")[0]
    # RuntimeError: TensorFlow already started; fine if it was split the same way (checked below).
    with contextlib.suppress(RuntimeError):
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    found = len(tf.config.list_logical_devices("CPU"))
    if found != count:
        raise ConfigError(
            f"{LOGICAL_CPUS_VARIABLE}={count}: TensorFlow had already started with {found} CPU "
            "device(s); set it before the process runs TensorFlow"
        )
    return count


def make_strategy(mode: str) -> tf.distribute.Strategy:
    """The strategy of a ``--distribute`` mode (see the module docstring)."""
    # Refused, multi-worker: Keras 3's fit() fails under MultiWorkerMirroredStrategy before the
    # first step. Its symbolic build reduces the (sketch, color) tuple with strategy.reduce, which
    # the collective strategy cannot do for a nest ("Attempt to convert a value (PerReplica:...)
    # with an unsupported type"); past that, reduce_per_replica reduces the scalar losses along
    # axis 0 ("Invalid reduction dimension 0 for input with 0 dimensions"). TF 2.21 / Keras 3.15.
    check_distribute_mode(mode)
    split_cpu_from_environment()
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    if mode == "none" or (mode == "auto" and len(gpus) < 2):
        return tf.distribute.get_strategy()
    if gpus:
        return tf.distribute.MirroredStrategy(gpus)
    cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())


def check_global_batch(batch_size: int, strategy: tf.distribute.Strategy, mode: str) -> int:
    """The per-replica batch of a global ``batch_size``; ConfigError unless the replicas divide it."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ConfigError(
            f"--batch-size {batch_size} (the global batch) does not divide by the {replicas} replicas "
            f"of --distribute {mode}: use a multiple of {replicas}"
        )
    print(f"{replicas} replicas, per-replica batch {batch_size // replicas}", file=sys.stderr)
    return batch_size // replicas


def uses_sync_bn(sync_bn: bool | None, strategy: tf.distribute.Strategy) -> bool:
    """Whether batch norm synchronizes its statistics: as asked, else (None) when replicas > 1."""
    return strategy.num_replicas_in_sync > 1 if sync_bn is None else sync_bn
