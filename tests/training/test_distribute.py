"""Training on several devices: ``--distribute``, the global batch, sync batch norm, XLA.

Everything distributed runs in a subprocess: the CPU is split into 2 logical devices
(``SKETCH2COLOR_LOGICAL_CPUS=2``), which TensorFlow only allows before it starts.
"""

from __future__ import annotations

import json
import socket

import keras
import numpy as np
import pytest
from test_gan import SUBPROCESS_PRELUDE, run_script
from test_train_run import (
    describe,
    error_lines,
    make_pair_dataset,
    read_csv_rows,
    restored_generator,
    run_cli,
    run_many,
    train_args,
)

from sketch2color.cli import train as train_cli
from sketch2color.config import ConfigError, RunConfig, TrainConfig, from_dict, load_json, save_json, to_dict
from sketch2color.models.blocks import batch_norm_layers
from sketch2color.training import build_gan
from sketch2color.training.distribute import LOGICAL_CPUS_VARIABLE

GLOBAL_BATCH = 4


def tiny_config() -> RunConfig:
    """A 32 px pix2pix with 8 base filters: seconds to build."""
    config = RunConfig()
    config.data.image_size = 32
    config.model.generator_kwargs = {"base_filters": 8}
    config.model.discriminator_kwargs = {"base_filters": 8}
    return config


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


# --------------------------------------------------------------------------- settings


def test_the_flags_set_the_config_and_round_trip_through_config_json(tmp_path):
    args = train_cli.build_parser().parse_args(["--distribute", "mirrored", "--no-sync-bn", "--jit-compile"])
    config, explicit = train_cli.config_from_args(args)
    assert (config.train.distribute, config.train.sync_bn, config.train.jit_compile) == (
        "mirrored",
        False,
        True,
    )
    assert {("train", "distribute"), ("train", "sync_bn"), ("train", "jit_compile")} <= explicit
    save_json(config, tmp_path / "config.json")
    assert to_dict(load_json(RunConfig, tmp_path / "config.json")) == to_dict(config)

    config, explicit = train_cli.config_from_args(train_cli.build_parser().parse_args(["--sync-bn"]))
    assert config.train.sync_bn is True and ("train", "distribute") not in explicit
    assert (config.train.distribute, TrainConfig().sync_bn, TrainConfig().jit_compile) == (
        "auto",
        None,
        False,
    )


def test_an_unknown_mode_is_refused_by_the_parser_and_by_the_config(capsys):
    with pytest.raises(SystemExit) as exit_:
        train_cli.build_parser().parse_args(["--distribute", "tpu"])
    assert exit_.value.code == 2 and "argument --distribute: invalid choice: 'tpu'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"distribute \(--distribute\) must be one of"):
        from_dict(TrainConfig, {"distribute": "tpu"})
    with pytest.raises(ConfigError, match=r"multi-worker is refused: .*keras-team/keras#20585"):
        TrainConfig(distribute="multi-worker").validate()


def test_build_gan_synchronizes_batch_norm_and_compiles_with_xla_when_asked():
    config = tiny_config()
    config.train.jit_compile = True
    gan = build_gan(config, steps_per_epoch=1, sync_bn=True)
    norms = batch_norm_layers(gan.generator) + batch_norm_layers(gan.discriminator)
    assert norms and all(layer.synchronized for layer in norms)
    assert gan.jit_compile is True

    plain = build_gan(tiny_config(), steps_per_epoch=1)
    assert not any(layer.synchronized for layer in batch_norm_layers(plain.generator))
    assert plain.jit_compile is False  # Keras' "auto" on a CPU


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("distribute")
    (root / "cache").mkdir()
    make_pair_dataset(root / "data")
    return root


def distributed_args(workspace, run_dir: str, **extra) -> list[str]:
    """The small training command of test_train_run at global batch 4, no FID."""
    return train_args(workspace / "data", run_dir, **{"batch_size": GLOBAL_BATCH, "fid_every": 0, **extra})


@pytest.mark.slow
def test_a_mirrored_run_writes_everything_and_resumes_on_one_device_and_back(workspace, monkeypatch):
    monkeypatch.setenv(LOGICAL_CPUS_VARIABLE, "2")
    first = run_cli("train", distributed_args(workspace, "runs/mirrored", distribute="mirrored"), workspace)
    assert first.returncode == 0, describe(first)
    assert "2 replicas, per-replica batch 2" in first.stderr, describe(first)
    run_dir = workspace / "runs" / "mirrored"
    for part in ("history.csv", "losses.png", "metrics.png", "progression.png", "logs", "export/saved_model"):
        assert (run_dir / part).exists(), part
    assert sorted(p.name for p in (run_dir / "previews").glob("*.png")) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    assert {p.name for p in (run_dir / "checkpoints").glob("*.index")} == {"ckpt-4.index", "ckpt-6.index"}
    assert json.loads((run_dir / "config.json").read_text())["train"]["distribute"] == "mirrored"

    # The export has the (recalibrated) batch-norm statistics of the last checkpoint, and its
    # batch norm is the synchronized kind the run trained with (auto: on for 2 replicas).
    exported = keras.saving.load_model(run_dir / "export" / "generator.keras", compile=False)
    checkpointed = restored_generator(run_dir)
    exported_norms, checkpoint_norms = batch_norm_layers(exported), batch_norm_layers(checkpointed)
    assert exported_norms and all(layer.synchronized for layer in exported_norms)
    for ours, theirs in zip(exported_norms, checkpoint_norms):
        np.testing.assert_array_equal(ours.moving_mean.numpy(), theirs.moving_mean.numpy())
        np.testing.assert_array_equal(ours.moving_variance.numpy(), theirs.moving_variance.numpy())

    monkeypatch.delenv(LOGICAL_CPUS_VARIABLE)
    single = run_cli(
        "train",
        distributed_args(workspace, "runs/mirrored", distribute="none", epochs=3, export=False),
        workspace,
    )
    assert single.returncode == 0, describe(single)
    assert "1 replicas, per-replica batch 4" in single.stderr and "(step 6)" in single.stderr, describe(
        single
    )

    monkeypatch.setenv(LOGICAL_CPUS_VARIABLE, "2")
    again = run_cli(
        "train",
        distributed_args(workspace, "runs/mirrored", distribute="mirrored", epochs=4, export=False),
        workspace,
    )
    assert again.returncode == 0, describe(again)
    assert "2 replicas" in again.stderr and "(step 9)" in again.stderr, describe(again)
    rows = read_csv_rows(run_dir / "history.csv")
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2, 3]
    assert all(np.isfinite(float(row["gen_total_loss"])) for row in rows)


@pytest.mark.slow
def test_a_batch_the_replicas_cannot_share_and_multi_worker_stop_with_one_line(workspace, monkeypatch):
    monkeypatch.setenv(LOGICAL_CPUS_VARIABLE, "2")
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    uneven, multi_worker = run_many(
        [
            ("train", distributed_args(workspace, "runs/uneven", distribute="mirrored", batch_size=3)),
            ("train", distributed_args(workspace, "runs/multi", distribute="multi-worker")),
        ],
        workspace,
    )
    assert uneven.returncode == 2, describe(uneven)
    assert error_lines(uneven.stderr) == [
        "error: --batch-size 3 (the global batch) does not divide by the 2 replicas of --distribute "
        "mirrored: use a multiple of 2"
    ], describe(uneven)
    assert multi_worker.returncode == 2, describe(multi_worker)
    (line,) = error_lines(multi_worker.stderr)
    assert "keras-team/keras#20585" in line and "--distribute mirrored" in line, line
    for result in (uneven, multi_worker):
        assert "Traceback" not in result.stderr, describe(result)
    assert not list((workspace / "runs").glob("uneven/checkpoints/*"))
    assert not (workspace / "runs" / "multi").exists()  # refused before the run folder is written


# Three Adam steps of the run's own GAN (build_gan, make_strategy): 2 replicas with sync batch
# norm against one device, the same initial weights, global batch 4 of 4 different examples
# (so unsynchronized batch norm would differ), no dropout (dropout_blocks=0).
EQUIVALENCE_SCRIPT = (
    SUBPROCESS_PRELUDE
    + """
from sketch2color.config import RunConfig
from sketch2color.training import build_gan
from sketch2color.training.distribute import make_strategy, split_cpu_from_environment

split_cpu_from_environment()  # before the first TensorFlow op
config = RunConfig()
config.data.image_size = 32
config.model.generator_kwargs = {"base_filters": 8, "dropout_blocks": 0}
config.model.discriminator_kwargs = {"base_filters": 8}
config.train.ema_decay = 0.9  # the weight average's cross-replica update is checked too
rng = np.random.default_rng(0)
sketch = rng.uniform(-1, 1, (12, 32, 32, 3)).astype("float32")
color = np.tanh(rng.normal(0, 1, (12, 32, 32, 3))).astype("float32")
pairs = tf.data.Dataset.from_tensor_slices((sketch, color)).batch(4, drop_remainder=True)

def train(mode, initial=None):
    strategy = make_strategy(mode)
    with strategy.scope():
        gan = build_gan(config, steps_per_epoch=1, sync_bn=strategy.num_replicas_in_sync > 1)
        if initial is not None:
            gan.set_weights(initial)
    initial = [w.copy() for w in gan.get_weights()]
    logs = gan.fit(pairs, epochs=3, steps_per_epoch=1, verbose=0).history
    averaged = [
        (a.numpy(), w.numpy())
        for a, w in zip(gan.ema_generator.weights, gan.generator.weights)
        if w.trainable
    ]
    return strategy.num_replicas_in_sync, logs, gan.get_weights(), initial, averaged

_, single_logs, single_weights, initial, single_averaged = train("none")
replicas, mirrored_logs, mirrored_weights, _, mirrored_averaged = train("mirrored", initial)
print(json.dumps({
    "average_difference": max(
        float(np.abs(a - b).max()) for (a, _), (b, _) in zip(single_averaged, mirrored_averaged)
    ),
    "average_lag": max(float(np.abs(a - w).max()) for a, w in mirrored_averaged),
    "replicas": replicas,
    "single": single_logs,
    "mirrored": mirrored_logs,
    "max_weight_difference": max(
        float(np.abs(a - b).max()) for a, b in zip(single_weights, mirrored_weights)
    ),
    "max_update": max(float(np.abs(a - b).max()) for a, b in zip(single_weights, initial)),
}))
"""
)


@pytest.mark.slow
def test_two_replicas_train_like_one_device_at_the_same_global_batch(monkeypatch):
    monkeypatch.setenv(LOGICAL_CPUS_VARIABLE, "2")
    report = run_script(EQUIVALENCE_SCRIPT)
    assert report["replicas"] == 2
    single, mirrored = report["single"], report["mirrored"]
    assert set(mirrored) == set(single) >= {"gen_total_loss", "gen_gan_loss", "gen_l1_loss", "disc_loss"}
    for name in single:  # each of the 3 steps' losses, to 1e-4 relative (float32 reduction order)
        assert mirrored[name] == pytest.approx(single[name], rel=1e-4), name
    for logs in (single, mirrored):  # the L1 term keeps its weight of 100 against the adversarial one
        for total, gan, l1 in zip(logs["gen_total_loss"], logs["gen_gan_loss"], logs["gen_l1_loss"]):
            assert total == pytest.approx(gan + 100.0 * l1, rel=1e-5)
    # The same weights (and batch-norm statistics) after 3 steps, to float32 reduction order:
    # measured 8e-7 against moves of up to 0.47; without sync BN they differ by 2e-2.
    assert report["max_update"] > 0.01
    assert report["max_weight_difference"] < 1e-5, report
    # The weight average is updated once per step on every replica, not once per replica: it
    # matches one device's (measured 1.6e-6) while it trails the trained weights by 8.9e-5 (in 3
    # warm-up steps the decay is only 0.1, 0.18, 0.25 and Adam moves a weight by ~2e-4 a step).
    assert report["average_difference"] < 1e-5, report
    assert report["average_lag"] > 2e-5, report
