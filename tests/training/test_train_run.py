"""Training runs end to end: the train / export / colorize CLIs, resuming, interrupts, previews.

The CLI tests run the real commands in subprocesses on a few tiny pair files at 32 px (the
U-Net then has 5 levels), so each run takes seconds. One trained run (module fixture) is
shared by the artefact, resume, export and colorize tests; tests that change a run work on a
copy of it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import gray_of, smooth_color_image, write_pair

IMAGE_SIZE = 32
BATCH_SIZE = 2
EPOCHS = 2
STEPS_PER_EPOCH = 3
KEEP_CHECKPOINTS = 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOSSES = ("gen_total_loss", "gen_gan_loss", "gen_l1_loss", "disc_loss")


# --------------------------------------------------------------------------- helpers


def cli_env(cache: Path) -> dict[str, str]:
    """The environment of every CLI run: quiet TensorFlow, CPU only, no cache in ~/.cache, an
    empty Keras cache (and conftest's dead proxy: offline, as far as pretrained weights go)."""
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        SKETCH2COLOR_CACHE=str(cache),
        KERAS_HOME=str(cache / "keras_home"),
        CUDA_VISIBLE_DEVICES="-1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _default_sigint():
    """Children get the default SIGINT action, so Python turns Ctrl-C into KeyboardInterrupt
    even when the test runner was started with SIGINT ignored (e.g. as a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(module: str, args, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``python -m sketch2color.<module> ARGS`` in ``cwd``; stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", f"sketch2color.{module}", *map(str, args)],
        cwd=cwd,
        env=cli_env(cwd / "cache"),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_default_sigint,
    )


def run_many(commands, cwd: Path, timeout: float = 240) -> list[subprocess.CompletedProcess]:
    """Several quick CLI runs at once (they spend most of their time importing TensorFlow)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", f"sketch2color.{module}", *map(str, args)],
            cwd=cwd,
            env=cli_env(cwd / "cache"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
        )
        for module, args in commands
    ]
    results = []
    for proc, (_module, _args) in zip(procs, commands):
        out, err = proc.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def describe(result: subprocess.CompletedProcess) -> str:
    """Exit code and output of a CLI run, for assertion messages."""
    return (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}"
    )


def error_lines(stderr: str) -> list[str]:
    """The CLI's own error lines (TensorFlow's C++ start-up chatter is ignored)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def make_pair_dataset(
    root: Path, n_train: int = 16, n_val: int = 4, size: int = IMAGE_SIZE, seed: int = 0
) -> Path:
    """Kaggle layout: root/train and root/val with color | sketch pair PNGs (2 x size wide)."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("val", n_val)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            color = smooth_color_image(rng, size)
            write_pair(folder / f"{split}_{i:02d}.png", color, gray_of(color))
    return root


def train_args(
    data: Path,
    run_dir,
    epochs: int = EPOCHS,
    steps: int = STEPS_PER_EPOCH,
    checkpoint_every: int = 2,
    keep: int = KEEP_CHECKPOINTS,
    image_size: int = IMAGE_SIZE,
    export: bool = True,
    **extra,
) -> list[str]:
    """The small training command used throughout; ``extra`` adds ``--flag value`` options."""
    args = [
        "--data",
        data,
        "--image-size",
        image_size,
        "--batch-size",
        BATCH_SIZE,
        "--epochs",
        epochs,
        "--steps-per-epoch",
        steps,
        "--checkpoint-every",
        checkpoint_every,
        "--keep-checkpoints",
        keep,
        "--preview-samples",
        2,
        "--validation-steps",
        1,
        "--seed",
        3,
        "--lr",
        3e-4,
        "--run-dir",
        run_dir,
    ]
    if not export:
        args.append("--no-export")
    for flag, value in extra.items():
        args += [f"--{flag.replace('_', '-')}", value]
    return [str(a) for a in args]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def checkpoint_step(prefix: str | None) -> int:
    """The number of a ``.../ckpt-N`` checkpoint prefix (the global step it was saved at)."""
    assert prefix is not None, "no checkpoint"
    return int(re.fullmatch(r".*ckpt-(\d+)", prefix).group(1))


def latest_step(run_dir: Path) -> int:
    import tensorflow as tf

    return checkpoint_step(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))


def assert_png(path: Path) -> tuple[int, int]:
    """A complete, decodable PNG; returns its (width, height)."""
    from PIL import Image

    assert path.is_file(), f"{path} missing"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        image.load()
        return image.size


def restored_generator(run_dir: Path):
    """The run's generator rebuilt from config.json with its latest checkpoint restored: the weight
    average when the run kept one (what export and evaluate use), else the trained weights."""
    import tensorflow as tf

    from sketch2color.config import RunConfig, load_json
    from sketch2color.runs import build_generator_for, latest_checkpoint

    config = load_json(RunConfig, run_dir / "config.json")
    generator = build_generator_for(config)
    name = "ema_generator" if config.train.ema_decay else "generator"
    tf.train.Checkpoint(**{name: generator}).restore(
        latest_checkpoint(run_dir)
    ).assert_existing_objects_matched().expect_partial()
    return generator


def colorize_like_serve(generator, sketches: np.ndarray) -> np.ndarray:
    """What the exported model should return at the training size: [-1, 1] in, uint8 out."""
    x = sketches.astype(np.float32) / 127.5 - 1.0
    y = np.asarray(generator(x, training=False), np.float32)
    return np.clip(np.round((y + 1.0) * 127.5), 0, 255).astype(np.uint8)


def wait_for(predicate, process: subprocess.Popen, timeout: float, what: str) -> None:
    """Poll until ``predicate()``; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            pytest.fail(f"the run exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A working folder (the CLIs' cwd) with a small pair dataset in ``data/``."""
    root = tmp_path_factory.mktemp("training")
    (root / "cache").mkdir()
    make_pair_dataset(root / "data")
    return root


@pytest.fixture(scope="module")
def base_run(workspace: Path):
    """One finished CLI run: 2 epochs x 3 steps, checkpoints every 2 steps, 2 kept."""
    result = run_cli("train", train_args(workspace / "data", "runs/base"), workspace)
    assert result.returncode == 0, describe(result)
    return workspace / "runs" / "base", result


def copy_run(run_dir: Path, name: str) -> Path:
    """A copy of a run directory next to it (tests that change a run use a copy)."""
    target = run_dir.parent / name
    shutil.copytree(run_dir, target)
    return target


# --------------------------------------------------------------------------- 1. --help


def test_help_documents_every_flag(tmp_path):
    from sketch2color.cli import train

    result = run_cli("train", ["--help"], tmp_path, timeout=120)
    assert result.returncode == 0, describe(result)
    help_text = " ".join(result.stdout.split())  # argparse wraps lines
    actions = {action.dest: action for action in train.build_parser()._actions}
    for dest in train.FLAGS:
        assert dest in actions, f"FLAGS entry {dest!r} has no command-line option"
        action = actions[dest]
        assert action.help and len(action.help) > 10, f"{action.option_strings} has no help text"
        for option in action.option_strings:
            assert option in help_text, f"{option} missing from --help"
        # The first words of its description are in the help text too.
        assert " ".join(action.help.split()[:3]) in help_text, f"{option}: help text not shown"
    # And every option of the parser reaches the configuration (none is silently ignored);
    # --run-dir and --preset are read by config_from_args itself.
    unmapped = set(actions) - set(train.FLAGS) - {"help", "run_dir", "preset"}
    assert not unmapped, f"options not mapped to a config setting: {unmapped}"
    assert "--run-dir" in help_text


# --------------------------------------------------------------------------- 2. run artefacts


@pytest.mark.slow
def test_cli_run_writes_every_artefact(base_run, workspace):
    run_dir, result = base_run
    total_steps = EPOCHS * STEPS_PER_EPOCH

    # stdout names the run directory and where it stopped.
    assert "runs/base" in result.stdout, describe(result)
    assert f"(epoch {EPOCHS}, step {total_steps})" in result.stdout, describe(result)
    # Offline, the default FID schedule is dropped with one warning; the run goes on.
    assert "FID/KID off for this run" in result.stderr and "downloading it failed" in result.stderr

    # config.json: the full configuration, with the values given on the command line.
    config = json.loads((run_dir / "config.json").read_text())
    assert {"data", "model", "train"} <= set(config)
    assert config["data"]["data_dir"] == str(workspace / "data")
    assert config["data"]["image_size"] == IMAGE_SIZE
    assert config["data"]["batch_size"] == BATCH_SIZE
    assert config["data"]["seed"] == 3
    assert config["model"]["generator"] == "unet" and config["model"]["discriminator"] == "patchgan"
    assert config["train"]["epochs"] == EPOCHS
    assert config["train"]["steps_per_epoch"] == STEPS_PER_EPOCH
    assert config["train"]["checkpoint_every_steps"] == 2
    assert config["train"]["keep_checkpoints"] == KEEP_CHECKPOINTS
    assert config["train"]["preview_samples"] == 2
    assert config["train"]["learning_rate"] == pytest.approx(3e-4)
    # Settings not given keep their defaults (the full config is written, not just the flags).
    assert config["train"]["l1_weight"] == 100.0 and config["data"]["sketch_side"] == "right"

    # checkpoints/: the index plus the newest KEEP_CHECKPOINTS checkpoints (saves happened at
    # steps 2, 3, 4 and 6, so older ones were deleted).
    checkpoints = run_dir / "checkpoints"
    assert (checkpoints / "checkpoint").is_file()
    indexes = sorted(checkpoints.glob("ckpt-*.index"))
    assert len(indexes) == KEEP_CHECKPOINTS, indexes
    assert latest_step(run_dir) == total_steps
    for index in indexes:
        assert list(checkpoints.glob(index.stem + ".data-*")), f"{index} has no data file"

    # previews/: one valid PNG per epoch.
    previews = sorted(p.name for p in (run_dir / "previews").iterdir())
    assert previews == [f"epoch_{e:04d}.png" for e in range(1, EPOCHS + 1)]
    for name in previews:
        width, height = assert_png(run_dir / "previews" / name)
        assert width > 100 and height > 100

    # history.csv: one row per epoch with training and validation losses and throughput.
    rows = read_csv_rows(run_dir / "history.csv")
    assert [int(row["epoch"]) for row in rows] == list(range(EPOCHS))
    for name in LOSSES:
        for column in (name, f"val_{name}"):
            values = [float(row[column]) for row in rows]
            assert np.all(np.isfinite(values)), (column, values)
    assert all(float(row["images_per_sec"]) > 0 for row in rows)
    assert all(float(row["gen_l1_loss"]) > 0 for row in rows)

    assert_png(run_dir / "losses.png")

    # Validation metrics every epoch (0..255 scale), their curves and the progression grid.
    for column, low, high in (("val_psnr", 0.0, 100.0), ("val_ssim", -1.0, 1.0), ("val_l1", 0.0, 255.0)):
        values = [float(row[column]) for row in rows]
        assert all(low <= v <= high for v in values), (column, values)
    assert_png(run_dir / "metrics.png")
    assert_png(run_dir / "progression.png")
    assert len(list((run_dir / "progression").glob("epoch_*.npz"))) == EPOCHS

    # logs/: TensorBoard event files with the epoch losses.
    events = sorted((run_dir / "logs").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event files"
    import tensorflow as tf

    tags = set()
    for event_file in events:
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    assert any("gen_total_loss" in tag for tag in tags), tags
    assert any(tag.endswith("psnr") for tag in tags), tags  # val_psnr: "epoch_psnr" under logs/validation

    # export/: SavedModel and the Keras generator.
    assert (run_dir / "export" / "saved_model" / "saved_model.pb").is_file()
    assert zipfile.is_zipfile(run_dir / "export" / "generator.keras")


# --------------------------------------------------------------------------- 3. resume


@pytest.mark.slow
def test_restore_latest_gives_the_checkpointed_weights(base_run):
    """In-process: build_gan + RunCheckpoint.restore_latest reproduce the trained weights."""
    import keras
    import tensorflow as tf

    from sketch2color import training
    from sketch2color.config import RunConfig, load_json
    from sketch2color.training import callbacks

    run_dir, _ = base_run
    config = load_json(RunConfig, run_dir / "config.json")
    gan = training.build_gan(config, STEPS_PER_EPOCH)
    before = [w.copy() for w in gan.generator.get_weights()]
    checkpoint = callbacks.RunCheckpoint(gan, run_dir / "checkpoints", keep=KEEP_CHECKPOINTS)
    path = checkpoint.restore_latest()

    assert checkpoint_step(path) == EPOCHS * STEPS_PER_EPOCH
    assert checkpoint.step == EPOCHS * STEPS_PER_EPOCH  # the optimizer counter came back
    assert int(gan.d_optimizer.iterations.numpy()) == EPOCHS * STEPS_PER_EPOCH
    restored = gan.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, restored)), "restore changed nothing"

    # The run kept a weight average (the default): the export is that average, restored with the
    # checkpoint too, and it is not the trained weights.
    assert config.train.ema_decay > 0 and gan.ema_generator is not None
    averaged = gan.ema_generator.get_weights()
    exported = keras.saving.load_model(run_dir / "export" / "generator.keras", compile=False).get_weights()
    assert len(exported) == len(averaged) == len(restored)
    for a, b in zip(averaged, exported):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(restored, averaged)), "the average is the weights"

    # ...and every generator weight (incl. batch-norm statistics) is a tensor of the checkpoint.
    reader = tf.train.load_checkpoint(path)
    saved = [
        reader.get_tensor(key)
        for key in reader.get_variable_to_shape_map()
        if key != "_CHECKPOINTABLE_OBJECT_GRAPH"
    ]
    by_shape: dict[tuple, list[np.ndarray]] = {}
    for tensor in saved:
        by_shape.setdefault(tuple(np.shape(tensor)), []).append(tensor)
    for weight in gan.generator.weights + gan.ema_generator.weights:
        value = weight.numpy()
        candidates = by_shape.get(tuple(value.shape), [])
        assert any(np.array_equal(value, c) for c in candidates), f"{weight.path} not in the checkpoint"


@pytest.mark.slow
def test_resume_continues_counters_and_finished_run_is_a_no_op(base_run, workspace):
    base_dir, _ = base_run
    run_dir = copy_run(base_dir, "resumed")
    base_rows = read_csv_rows(base_dir / "history.csv")
    more_epochs = EPOCHS + 1

    # Same command, more epochs: resumes at step 6 and trains exactly one more epoch.
    result = run_cli("train", train_args(workspace / "data", "runs/resumed", epochs=more_epochs), workspace)
    assert result.returncode == 0, describe(result)
    assert "resuming from" in result.stderr and f"ckpt-{EPOCHS * STEPS_PER_EPOCH}" in result.stderr, describe(
        result
    )
    assert f"(step {EPOCHS * STEPS_PER_EPOCH})" in result.stderr
    final_step = more_epochs * STEPS_PER_EPOCH
    assert f"(epoch {more_epochs}, step {final_step})" in result.stdout, describe(result)
    assert latest_step(run_dir) == final_step

    rows = read_csv_rows(run_dir / "history.csv")
    assert [int(row["epoch"]) for row in rows] == list(range(more_epochs))  # continued, not restarted
    assert rows[:EPOCHS] == base_rows  # the earlier epochs are kept as they were
    assert sorted(p.name for p in (run_dir / "previews").iterdir()) == [
        f"epoch_{e:04d}.png" for e in range(1, more_epochs + 1)
    ]
    assert json.loads((run_dir / "config.json").read_text())["train"]["epochs"] == more_epochs

    # Rerunning the finished run trains nothing.
    checkpoint_files = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    index_text = (run_dir / "checkpoints" / "checkpoint").read_text()
    history_text = (run_dir / "history.csv").read_text()
    again = run_cli("train", train_args(workspace / "data", "runs/resumed", epochs=more_epochs), workspace)
    assert again.returncode == 0, describe(again)
    assert "resuming from" in again.stderr
    assert f"(epoch {more_epochs}, step {final_step})" in again.stdout, describe(again)
    assert not re.search(r"^Epoch \d+/", again.stdout, re.MULTILINE), "a finished run trained again"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == checkpoint_files
    assert (run_dir / "checkpoints" / "checkpoint").read_text() == index_text
    assert (run_dir / "history.csv").read_text() == history_text


# --------------------------------------------------------------------------- 4. interrupts


def _start_long_run(workspace: Path, run_name: str, steps: int, stdout, stderr) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sketch2color.train",
            *train_args(workspace / "data", f"runs/{run_name}", epochs=2, steps=steps, keep=10, export=False),
        ],
        cwd=workspace,
        env=cli_env(workspace / "cache"),
        stdout=stdout,
        stderr=stderr,
        text=True,
        preexec_fn=_default_sigint,
    )


def _interrupt(workspace: Path, run_name: str, steps: int, signum: int) -> tuple[int, str, int]:
    """Start a run, send ``signum`` once its first checkpoint exists; (exit code, stderr, step)."""
    run_dir = workspace / "runs" / run_name
    out_path, err_path = workspace / f"{run_name}.out", workspace / f"{run_name}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = _start_long_run(workspace, run_name, steps, out, err)
        try:
            wait_for(
                lambda: (run_dir / "checkpoints" / "checkpoint").is_file(),
                process,
                180,
                "the first checkpoint",
            )
            process.send_signal(signum)
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr = err_path.read_text()
    match = re.search(r"interrupted: saved (\S+) \(step (\d+)\)", stderr)
    assert match, f"no 'interrupted: saved' message\n{stderr[-3000:]}"
    assert checkpoint_step(match.group(1)) == int(match.group(2))
    return code, stderr, int(match.group(2))


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_the_rerun_completes_the_partial_epoch(workspace):
    steps, epochs = 8, 2
    code, stderr, step = _interrupt(workspace, "interrupted", steps, signal.SIGINT)
    run_dir = workspace / "runs" / "interrupted"

    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert 0 < step < steps, f"interrupted at step {step}: expected inside the first epoch"
    assert latest_step(run_dir) == step

    result = run_cli(
        "train",
        train_args(workspace / "data", "runs/interrupted", epochs=epochs, steps=steps, keep=10, export=False),
        workspace,
    )
    assert result.returncode == 0, describe(result)
    assert "resuming from" in result.stderr and f"(step {step})" in result.stderr, describe(result)
    # The rest of the first epoch, then the second: exactly epochs x steps in total.
    assert f"(epoch {epochs}, step {epochs * steps})" in result.stdout, describe(result)
    assert latest_step(run_dir) == epochs * steps
    assert f"{steps - step}/{steps - step} " in result.stdout, (
        "the partial epoch did not run its remaining steps"
    )
    rows = read_csv_rows(run_dir / "history.csv")
    assert [int(row["epoch"]) for row in rows] == list(range(epochs)), rows
    assert sorted(p.name for p in (run_dir / "previews").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits_130(workspace):
    code, stderr, step = _interrupt(workspace, "terminated", 8, signal.SIGTERM)
    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert 0 < step < 16
    assert latest_step(workspace / "runs" / "terminated") == step


# --------------------------------------------------------------------------- 5. conflicting resume


@pytest.mark.slow
def test_resume_with_a_conflicting_fixed_setting_fails_clearly(base_run, workspace):
    run_dir = copy_run(base_run[0], "conflict")
    config_text = (run_dir / "config.json").read_text()
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    result = run_cli("train", train_args(workspace / "data", "runs/conflict", image_size=64), workspace)
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = error_lines(result.stderr)
    assert len(lines) == 1, describe(result)
    assert "image_size" in lines[0] and str(IMAGE_SIZE) in lines[0] and "64" in lines[0], lines[0]
    assert "runs/conflict" in lines[0]
    # Nothing was changed.
    assert (run_dir / "config.json").read_text() == config_text
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == checkpoints


# --------------------------------------------------------------------------- 6. export


SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    sketches = np.load(sys.argv[1])
    outputs = {}
    for i, path in enumerate(sys.argv[3:]):
        model = tf.saved_model.load(path)
        signature = model.signatures["serving_default"]
        assert signature.structured_outputs["color"].dtype == tf.uint8, signature.structured_outputs
        outputs[f"serve_{i}"] = model.serve(tf.constant(sketches))["color"].numpy()
        outputs[f"signature_{i}"] = signature(sketch=tf.constant(sketches))["color"].numpy()
    np.savez(sys.argv[2], **outputs)
    """
)


@pytest.mark.slow
def test_export_round_trip_in_a_fresh_process(base_run, workspace, tmp_path):
    run_dir, _ = base_run
    rng = np.random.default_rng(5)
    sketches = np.stack([gray_of(smooth_color_image(rng, IMAGE_SIZE)) for _ in range(3)])
    sketches[2] = rng.integers(0, 256, sketches[2].shape, dtype=np.uint8)  # any uint8 input
    np.save(tmp_path / "sketches.npy", sketches)
    expected = colorize_like_serve(restored_generator(run_dir), sketches)

    # Re-export from the checkpoint with the CLI.
    reexport = tmp_path / "reexport"
    result = run_cli("export", [run_dir, reexport], workspace, timeout=180)
    assert result.returncode == 0, describe(result)
    assert (reexport / "saved_model" / "saved_model.pb").is_file() and (
        reexport / "generator.keras"
    ).is_file()
    assert "exported" in result.stdout

    script = tmp_path / "serve.py"
    script.write_text(SERVE_SCRIPT)
    served = subprocess.run(
        [
            sys.executable,
            script,
            tmp_path / "sketches.npy",
            tmp_path / "out.npz",
            run_dir / "export" / "saved_model",
            reexport / "saved_model",
        ],
        cwd=tmp_path,
        env=cli_env(workspace / "cache"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert served.returncode == 0, describe(served)
    outputs = np.load(tmp_path / "out.npz")
    for key in ("serve_0", "signature_0", "serve_1", "signature_1"):
        out = outputs[key]
        assert out.dtype == np.uint8 and out.shape == sketches.shape, (key, out.dtype, out.shape)
        difference = np.abs(out.astype(int) - expected.astype(int)).max()
        assert difference <= 1, f"{key}: max difference {difference} levels from the generator"
    assert np.abs(outputs["serve_0"].astype(int) - outputs["serve_1"].astype(int)).max() <= 1
    assert expected.std() > 0  # a real picture, not a constant


def test_export_cli_without_a_checkpoint_fails_clearly(tmp_path):
    (tmp_path / "new_run").mkdir()
    (tmp_path / "new_run" / "config.json").write_text("{}")
    result = run_cli("export", [tmp_path / "new_run"], tmp_path, timeout=180)
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "new_run" in lines[0] and "checkpoint" in lines[0], describe(result)
    assert not (tmp_path / "new_run" / "export").exists()


# --------------------------------------------------------------------------- 7. colorize


def _save_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def _load(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
def test_colorize_sketches_pairs_and_folders(base_run, workspace, tmp_path):
    run_dir, _ = base_run
    rng = np.random.default_rng(11)
    inputs = tmp_path / "in"
    # A plain, non-square sketch (45 high, 70 wide).
    plain = _save_png(inputs / "plain.png", gray_of(smooth_color_image(rng, 80))[:45, :70])
    # A pair file: color | sketch, 80x40; and its sketch half alone as a plain 40x40 sketch.
    color = smooth_color_image(rng, 40)
    sketch_half = gray_of(smooth_color_image(rng, 40))
    pair = write_pair(inputs / "pair.png", color, sketch_half)
    half = _save_png(inputs / "half.png", sketch_half)
    # A folder of sketches of other sizes.
    folder = inputs / "folder"
    _save_png(folder / "small.png", gray_of(smooth_color_image(rng, 24))[:20, :24])
    _save_png(folder / "big.png", gray_of(smooth_color_image(rng, 48)))
    (folder / "notes.txt").write_text("not an image: folders only contribute image files")

    out = tmp_path / "out"
    result = run_cli(
        "colorize", [plain, pair, half, folder, "--model", run_dir, "--out", out], tmp_path, timeout=180
    )
    assert result.returncode == 0, describe(result)
    assert "colorized 5 of 5" in result.stdout, describe(result)
    assert sorted(p.name for p in out.iterdir()) == [
        "big.png",
        "half.png",
        "pair.png",
        "plain.png",
        "small.png",
    ]
    expected_sizes = {
        "plain.png": (70, 45),
        "pair.png": (40, 40),
        "half.png": (40, 40),
        "small.png": (24, 20),
        "big.png": (48, 48),
    }
    for name, size in expected_sizes.items():
        assert assert_png(out / name) == size, name
    # The pair's sketch half was colorized: same result as the half on its own.
    pair_out, half_out = _load(out / "pair.png").astype(int), _load(out / "half.png").astype(int)
    assert np.abs(pair_out - half_out).max() <= 1
    # The output is the model's colors, not the input copied through.
    assert not np.array_equal(_load(out / "half.png"), sketch_half)


@pytest.mark.slow
def test_colorize_bad_inputs_give_clear_errors(base_run, tmp_path):
    run_dir, _ = base_run
    good = _save_png(tmp_path / "good.png", gray_of(smooth_color_image(np.random.default_rng(2), 32)))
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a PNG file at all" * 10)
    missing = tmp_path / "missing_sketch.png"
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    results = run_many(
        [
            ("colorize", [garbage, good, "--model", run_dir, "--out", tmp_path / "out_garbage"]),
            ("colorize", [missing, "--model", run_dir, "--out", tmp_path / "out_missing"]),
            ("colorize", [good, "--model", not_a_model, "--out", tmp_path / "out_model"]),
        ],
        tmp_path,
        timeout=180,
    )
    for result, name in zip(results, ("garbage.png", "missing_sketch.png", "not_a_model")):
        assert result.returncode != 0, describe(result)
        assert "Traceback" not in result.stderr, describe(result)
        lines = error_lines(result.stderr)
        assert lines and any(name in line for line in lines), describe(result)
    # The good file next to the garbage one was still colorized.
    assert assert_png(tmp_path / "out_garbage" / "good.png") == (32, 32)
    assert not (tmp_path / "out_garbage" / "garbage.png").exists()


def test_colorize_keeps_clashing_names_apart_and_says_what_it_ignores(base_run, tmp_path):
    from PIL import Image

    run_dir, _ = base_run
    rng = np.random.default_rng(5)
    inputs = tmp_path / "in"
    png = _save_png(inputs / "a.png", gray_of(smooth_color_image(rng, 32)))
    jpg = inputs / "a.jpg"
    Image.fromarray(gray_of(smooth_color_image(rng, 32))).save(jpg)
    first = _save_png(inputs / "d1" / "x.png", gray_of(smooth_color_image(rng, 32)))
    second = _save_png(inputs / "d2" / "x.png", gray_of(smooth_color_image(rng, 32)))
    hints = _save_png(tmp_path / "hints.png", np.full((8, 32, 3), 255, np.uint8))
    out = tmp_path / "out"
    result = run_cli(
        "colorize",
        [
            png,
            jpg,
            first,
            second,
            png,
            "--model",
            run_dir,
            "--out",
            out,
            "--palette",
            "#ff0000",
            "--hints",
            hints,
        ],
        tmp_path,
        timeout=180,
    )
    assert result.returncode == 0, describe(result)
    assert "colorized 4 of 4" in result.stdout, describe(result)  # a.png named twice: colorized once
    assert sorted(p.name for p in out.iterdir()) == ["a_jpg.png", "a_png.png", "d1__x.png", "d2__x.png"]
    assert "warning: --palette ignored: this model takes no palette" in result.stderr, describe(result)
    assert "warning: --hints ignored: this model takes no hints" in result.stderr, describe(result)

    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    refused = run_cli("colorize", [png, "--model", run_dir, "--out", a_file], tmp_path, timeout=180)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, describe(refused)
    assert error_lines(refused.stderr) == [f"error: --out {a_file}: exists and is not a folder"], describe(
        refused
    )


@pytest.mark.parametrize("damage", ["garbled_pb", "empty_pb", "truncated_variables"])
def test_a_damaged_export_is_a_one_line_error_for_colorize_and_evaluate(base_run, tmp_path, damage):
    import shutil

    run_dir, _ = base_run
    export = tmp_path / "export"
    shutil.copytree(run_dir / "export", export)
    saved = export / "saved_model"
    if damage == "garbled_pb":
        (saved / "saved_model.pb").write_bytes(b"\x12\x34 not a protocol buffer" * 50)
    elif damage == "empty_pb":
        (saved / "saved_model.pb").write_bytes(b"")
    else:
        data = next((saved / "variables").glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[:3])
    sketch = _save_png(tmp_path / "s.png", gray_of(smooth_color_image(np.random.default_rng(3), 32)))
    results = run_many(
        [
            ("colorize", [sketch, "--model", export, "--out", tmp_path / "out"]),
            ("evaluate", ["--model", export, "--data", run_dir.parents[1] / "data", "--no-fid"]),
        ],
        tmp_path,
        timeout=180,
    )
    for result in results:
        assert result.returncode == 2 and "Traceback" not in result.stderr, describe(result)
        lines = error_lines(result.stderr)
        assert len(lines) == 1 and str(saved) in lines[0] and "damaged SavedModel" in lines[0], describe(
            result
        )


# --------------------------------------------------------------------------- 8. bad training input


@pytest.mark.slow
def test_train_rejects_bad_input_and_a_failed_start_does_not_lock_the_run(workspace):
    missing = workspace / "no_such_dataset"
    results = run_many(
        [
            ("train", train_args(missing, "runs/missing_data", image_size=48, export=False)),
            ("train", train_args(workspace / "data", "runs/bad_generator", generator="resnet9000")),
            ("train", train_args(workspace / "data", "runs/bad_size", image_size=24)),
            (
                "train",
                train_args(workspace / "data", "runs/bad_inception", inception_weights=workspace / "nope.h5"),
            ),
        ],
        workspace,
    )
    missing_data, bad_generator, bad_size, bad_inception = results
    for result in results:
        assert result.returncode == 2, describe(result)
        assert "Traceback" not in result.stderr, describe(result)
        assert len(error_lines(result.stderr)) == 1, describe(result)
    assert str(missing) in error_lines(missing_data.stderr)[0]

    from sketch2color.models import GENERATORS

    line = error_lines(bad_generator.stderr)[0]
    assert "resnet9000" in line and GENERATORS and all(name in line for name in GENERATORS), line
    line = error_lines(bad_size.stderr)[0]
    assert "image_size" in line and "24" in line, line
    line = error_lines(bad_inception.stderr)[0]
    assert "nope.h5" in line and "not found" in line, line  # a named weights file is checked, not ignored
    # Unknown model names and invalid settings are caught before anything is written (an
    # invalid config.json would lock the run directory to it).
    for name in ("bad_generator", "bad_size"):
        assert not (workspace / "runs" / name / "config.json").exists(), name

    # The start that failed on its data trained nothing, so nothing is fixed yet: the corrected
    # command (existing folder, another image size) trains instead of refusing to "resume".
    fixed = run_cli(
        "train",
        train_args(workspace / "data", "runs/missing_data", steps=1, epochs=1, export=False),
        workspace,
    )
    assert fixed.returncode == 0, describe(fixed)
    assert "resuming from" not in fixed.stderr
    config = json.loads((workspace / "runs" / "missing_data" / "config.json").read_text())
    assert config["data"]["image_size"] == IMAGE_SIZE
    assert config["data"]["data_dir"] == str(workspace / "data")
    assert latest_step(workspace / "runs" / "missing_data") == 1


@pytest.mark.slow
def test_bad_flag_values_and_a_size_the_model_cannot_take_stop_before_training(workspace):
    data = workspace / "data"
    cases = {
        "nan_lr": (["--lr", "nan"], "--lr"),
        "negative_epochs": (["--epochs", "-1"], "--epochs"),
        "endless_epoch": (["--steps-per-epoch", "-3"], "--steps-per-epoch"),
        "no_previews": (["--preview-samples", "0"], "--preview-samples"),
        "negative_metrics": (["--metrics-images", "-1"], "--metrics-images"),
        "no_checkpoints_kept": (["--keep-checkpoints", "0"], "--keep-checkpoints"),
    }
    commands = [("train", train_args(data, f"runs/{name}") + extra) for name, (extra, _) in cases.items()]
    commands.append(("train", train_args(data, "runs/stride_48", image_size=48)))
    results = run_many(commands, workspace)
    for (name, (_, flag)), result in zip(cases.items(), results):
        assert result.returncode == 2, describe(result)
        assert "Traceback" not in result.stderr, describe(result)
        assert f"argument {flag}: must be" in result.stderr, describe(result)
        assert not (workspace / "runs" / name).exists(), f"{name}: a refused command created its run folder"
    stride = results[-1]
    assert stride.returncode == 2 and "Traceback" not in stride.stderr, describe(stride)
    line = error_lines(stride.stderr)[0]
    assert "--image-size 48" in line and "multiple of" in line, line
    assert not list((workspace / "runs" / "stride_48").glob("checkpoints/ckpt-*")), "it trained anyway"


@pytest.mark.slow
def test_damaged_run_folders_and_missing_vgg_weights_are_one_line_errors(workspace, tmp_path):
    data = workspace / "data"
    damaged = workspace / "runs" / "damaged_config"
    damaged.mkdir(parents=True)
    (damaged / "config.json").write_text("{not json")
    a_file = workspace / "runs" / "a_file"
    a_file.write_text("not a folder")
    empty_keras_home = tmp_path / "keras_home"
    empty_keras_home.mkdir()
    commands = [
        train_args(data, damaged),
        train_args(data, a_file),
        train_args(data, "runs/offline_vgg", preset="sgru", export=False),
        train_args(data, "runs/offline_fid", export=False, fid_every=1),  # FID asked for, not defaulted
    ]
    env = dict(cli_env(workspace / "cache"), KERAS_HOME=str(empty_keras_home))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "sketch2color.train", *args],
            cwd=workspace,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in commands
    ]
    outputs = [process.communicate(timeout=240) for process in processes]
    expected = [
        f"{damaged / 'config.json'}: damaged run configuration",
        f"--run-dir {a_file}: exists and is not a folder",
        "VGG16 ImageNet weights for the feature loss: ",
        "InceptionV3 ImageNet weights for FID/KID: ",
    ]
    for process, (_, stderr), words in zip(processes, outputs, expected):
        assert process.returncode == 2 and "Traceback" not in stderr, stderr[-2000:]
        lines = error_lines(stderr)
        assert len(lines) == 1 and words in lines[0], stderr[-2000:]
    ways_out = [("--vgg-weights FILE", "--vgg-weights random"), ("--inception-weights", "--fid-every 0")]
    for (_, stderr), ways in zip(outputs[2:], ways_out):
        line = error_lines(stderr)[0]
        assert str(empty_keras_home / "models") in line and "downloading it failed" in line, line
        assert all(way in line for way in ways), line
    for run in ("offline_vgg", "offline_fid"):
        assert not list((workspace / "runs" / run).glob("checkpoints/ckpt-*")), f"{run} trained anyway"


# --------------------------------------------------------------------------- 9. previews


def test_preview_callback_leaves_batch_norm_statistics_alone(tmp_path):
    import keras

    from sketch2color.models import build_generator
    from sketch2color.training import callbacks

    keras.utils.set_random_seed(1)
    generator = build_generator("unet", image_size=IMAGE_SIZE)
    rng = np.random.default_rng(0)
    sketches = rng.uniform(-1, 1, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    targets = rng.uniform(-1, 1, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    statistics = [w for w in generator.weights if "moving_mean" in w.path or "moving_variance" in w.path]
    assert statistics, "the generator has no batch-norm statistics"

    def snapshot():
        return [w.numpy().copy() for w in generator.weights]

    before = snapshot()
    preview = callbacks.PreviewCallback(generator, sketches, targets, tmp_path / "previews")
    preview.on_epoch_end(2)
    preview.on_epoch_end(3)
    after = snapshot()
    for weight, old, new in zip(generator.weights, before, after):
        np.testing.assert_array_equal(old, new, err_msg=f"{weight.path} changed by the preview")
    assert_png(tmp_path / "previews" / "epoch_0003.png")
    assert_png(tmp_path / "previews" / "epoch_0004.png")

    # The check is sensitive: a training-mode pass does move the statistics.
    frozen = [w.numpy().copy() for w in statistics]
    generator(sketches, training=True)
    assert any(not np.array_equal(old, w.numpy()) for w, old in zip(statistics, frozen))
