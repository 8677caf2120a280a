"""Trains each preset for the same short CPU budget on the embedded dataset and writes a comparison
table (L1, L2, PSNR, SSIM, images/s, parameters).

    python benchmarks/bench_presets.py [--budget-seconds 120] [--image-size 64] [--batch-size 4]
        [--presets pix2pix,sgru,...] [--eval-images 32] [--out benchmarks/results/presets.md]
        [--run-root DIR] [--embedded-train 800] [--embedded-val 80] [--seed 0]

Protocol, per preset (one after the other, in one process):

1. Config: ``apply_preset`` on the default ``RunConfig``, then the same overrides for all:
   ``--image-size``, ``--batch-size`` (0 keeps each preset's own: convnet-l2 64, reference 2),
   the embedded dataset (``--embedded-train`` / ``--embedded-val``, seed ``--seed``),
   ``vgg_weights="random"`` (offline; ``--vgg-weights`` to change it: with random weights the
   feature term is a random-feature loss, same cost as the ImageNet one), no FID, no per-epoch
   metrics, no export, no weight average (``ema_decay`` 0: these are the trained weights'
   scores, as in the stored table; ``bench_real_art.py`` scores both). Network widths, losses,
   adversary, optimizer settings: the preset's.
2. Training: ``training.build_gan`` + ``fit`` on the training split (augmented, repeated), no
   validation, stopped by a callback once ``--budget-seconds`` of wall-clock time have passed
   *after the first step* (the first step traces and compiles the graph; its time and the
   model build are reported separately and do not count against the budget).
   images/s = (steps - 1) x batch / time from the end of step 1 to the end of the last step.
3. The run folder (``--run-root``/PRESET: ``config.json`` + the final checkpoint) is then
   scored exactly like ``python -m sketch2color.evaluate --model RUN --max-images N --no-fid``:
   ``evaluate.load_model`` (generator rebuilt from the checkpoint, ``training=False``, uint8 in
   and out through the export's ``Colorizer``), ``evaluate.evaluate`` over the first
   ``--eval-images`` validation pairs (``model_batches``: conditioned models get their palette /
   hints from the validation pipeline), metrics from ``metrics.MetricTotals`` on 0..255.
   L1 = mean |error| per pixel-channel, L2 = MSE, PSNR in dB (mean of per-image values), SSIM.
4. Parameters: ``count_params()`` of the generator and the discriminator (all weights,
   including batch-norm statistics and spectral-norm vectors).

Context rows, on the same images: the sketch itself as the output, and a flat image of the
mean target color. The table (Markdown, with the command line and the machine) goes to
``--out``; everything, with timings and mean training losses, to the JSON next to it. Wall-clock
budgets need a quiet machine: the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "presets.md"
MAX_STEPS = 10**9  # "until the budget ends": the callback stops fit long before


def parse_args(argv=None) -> argparse.Namespace:
    from sketch2color.presets import PRESETS

    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=120.0,
        help="training wall-clock time per preset, after the first step (default 120)",
    )
    parser.add_argument(
        "--image-size", type=int, default=64, help="training and evaluation size in px (default 64)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="batch size for every preset (default 4; 0: each preset's own)",
    )
    parser.add_argument(
        "--presets",
        default=",".join(PRESETS),
        help=f"comma-separated presets (default all: {','.join(PRESETS)})",
    )
    parser.add_argument(
        "--eval-images", type=int, default=32, help="validation pairs scored per preset (default 32)"
    )
    parser.add_argument(
        "--eval-batch-size", type=int, default=8, help="batch size of the evaluation (default 8)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"Markdown table (default {DEFAULT_OUT}); the JSON goes next to it",
    )
    parser.add_argument(
        "--run-root", type=Path, help="where each preset's run folder goes (default: a new temporary folder)"
    )
    parser.add_argument(
        "--embedded-train", type=int, default=800, help="pairs in the embedded training set (default 800)"
    )
    parser.add_argument(
        "--embedded-val", type=int, default=80, help="pairs in the embedded validation set (default 80)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and weight seed (default 0)")
    parser.add_argument(
        "--vgg-weights", default="random", help="VGG16 weights of the feature loss (default random: offline)"
    )
    args = parser.parse_args(argv)
    args.presets = [name.strip() for name in args.presets.split(",") if name.strip()]
    unknown = [name for name in args.presets if name not in PRESETS]
    if unknown or not args.presets:
        parser.error(f"unknown preset(s) {unknown}; valid presets: {', '.join(PRESETS)}")
    if args.budget_seconds <= 0:
        parser.error("--budget-seconds must be > 0")
    if args.image_size < 32 or args.image_size % 16:
        parser.error(f"--image-size must be a multiple of 16 and >= 32 (PatchGAN), got {args.image_size}")
    if args.batch_size < 0 or args.eval_images < 1 or args.eval_batch_size < 1:
        parser.error("--batch-size must be >= 0, --eval-images and --eval-batch-size >= 1")
    return args


# --------------------------------------------------------------------------- machine


def machine_info() -> dict:
    import keras
    import tensorflow as tf

    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": model,
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": _load_average(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------- training


def _budget_callback(budget_seconds: float, cpu_clock: bool = False):
    """``cpu_clock``: count the process's CPU seconds (all its threads) instead of wall-clock time.
    It does not make a busy machine harmless: oversubscribed thread pools spin, and spinning is
    CPU time too, so a preset trained beside other work gets fewer steps."""
    import keras

    clock = time.process_time if cpu_clock else time.perf_counter

    class BudgetCallback(keras.callbacks.Callback):
        """Stops ``fit`` once ``budget_seconds`` have passed since the end of the first step."""

        def __init__(self):
            super().__init__()
            self.steps = 0
            self.fit_start = self.first_step_end = self.last_step_end = None
            self.last_logs = {}

        def on_train_begin(self, logs=None):
            self.fit_start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # Keras hands over the logs as Python floats (synchronous: the step has finished).
            now = time.perf_counter()
            self.steps += 1
            self.last_logs = dict(logs or {})
            if self.first_step_end is None:
                self.first_step_end, self.first_step_clock = now, clock()
            self.last_step_end = now
            if clock() - self.first_step_clock >= budget_seconds:
                self.model.stop_training = True

    return BudgetCallback()


def preset_config(name: str, args: argparse.Namespace, run_dir: Path, overrides: dict | None = None):
    """The preset's config at the benchmark's settings; ``overrides`` ({field: value}, any section's
    field by its name, e.g. {"tv_weight": 10.0}) are applied last."""
    from sketch2color.config import ConfigError, RunConfig
    from sketch2color.presets import apply_preset

    config = apply_preset(RunConfig(run_dir=str(run_dir)), name)
    config.data.image_size = args.image_size
    if args.batch_size:
        config.data.batch_size = args.batch_size
    config.data.embedded_train = args.embedded_train
    config.data.embedded_val = args.embedded_val
    config.data.data_dir = getattr(args, "data", None)  # bench_real_art trains on a pair folder
    config.data.seed = args.seed
    config.train.vgg_weights = args.vgg_weights
    config.train.fid_every = 0
    config.train.metrics_images = 0
    config.train.export = False
    config.train.epochs = 1
    config.train.steps_per_epoch = None  # set to the steps done once training ends
    config.train.ema_decay = getattr(args, "ema_decay", 0.0)
    for key, value in (overrides or {}).items():
        sections = [part for part in (config.data, config.train, config.model) if hasattr(part, key)]
        if not sections:
            raise ConfigError(f"{name}+{key}={value}: no setting {key!r} in data, train or model")
        current = getattr(sections[0], key)
        if isinstance(current, bool) and not isinstance(value, bool):
            raise ConfigError(f"{name}+{key}={value}: {key} is true or false")
        number = isinstance(current, (int, float)) and not isinstance(current, bool)
        setattr(sections[0], key, type(current)(value) if number else value)
    config.data.validate()
    config.train.validate()
    return config


def train_preset(name: str, args: argparse.Namespace, run_dir: Path, overrides: dict | None = None) -> dict:
    """Train one preset for the budget; save config.json + the final checkpoint in run_dir."""
    import keras

    from sketch2color.config import save_json
    from sketch2color.data import load_datasets
    from sketch2color.runs import CHECKPOINT_DIR, CONFIG_FILE, precision_policy
    from sketch2color.training import build_gan
    from sketch2color.training import callbacks as cb

    config = preset_config(name, args, run_dir, overrides)
    keras.backend.clear_session()
    gc.collect()
    keras.utils.set_random_seed(config.data.seed)
    splits = load_datasets(config.data, progress=False)
    with precision_policy(config.train.mixed_precision):
        start = time.perf_counter()
        gan = build_gan(config, steps_per_epoch=MAX_STEPS)  # no lr decay in any preset: constant rate
        build_seconds = time.perf_counter() - start
        budget = _budget_callback(args.budget_seconds, getattr(args, "cpu_clock", False))
        gan.fit(
            splits.train.repeat(),
            epochs=1,
            steps_per_epoch=MAX_STEPS,
            callbacks=[budget],
            verbose=0,
            shuffle=False,
        )
        steps = int(gan.g_optimizer.iterations.numpy())
        assert steps == budget.steps, (steps, budget.steps)
        timed_seconds = budget.last_step_end - budget.first_step_end
        images_per_sec = (
            (steps - 1) * config.data.batch_size / timed_seconds
            if steps > 1 and timed_seconds > 0
            else float("nan")
        )
        config.train.steps_per_epoch = steps
        # What train() does before each validation and checkpoint (a no-op without batch norm).
        for generator in filter(None, (gan.generator, gan.ema_generator)):  # both can be scored
            cb.recalibrate_batch_norm(generator, splits.train.take(config.train.bn_recalibration_batches))
        run_dir.mkdir(parents=True, exist_ok=True)
        save_json(config, run_dir / CONFIG_FILE)
        checkpoint = cb.RunCheckpoint(gan, run_dir / CHECKPOINT_DIR, keep=1)
        checkpoint.epoch.assign(1)
        checkpoint.save()
    return {
        "preset": name,
        "generator": config.model.generator,
        "discriminator": config.model.discriminator,
        "batch_size": config.data.batch_size,
        "image_size": config.data.image_size,
        "input_mode": config.data.input_mode,
        "palette": config.data.palette,
        "hints": config.data.hints,
        "params_generator": int(gan.generator.count_params()),
        "params_discriminator": int(gan.discriminator.count_params()) if gan.discriminator is not None else 0,
        "steps": steps,
        "images": steps * config.data.batch_size,
        "images_per_sec": images_per_sec,
        "build_seconds": build_seconds,
        "first_step_seconds": budget.first_step_end - budget.fit_start,
        "timed_seconds": timed_seconds,
        "train_losses_mean": {
            key: float(value) for key, value in budget.last_logs.items()
        },  # Keras means over the (single) epoch
        "run_dir": str(run_dir),
    }


# --------------------------------------------------------------------------- evaluation


def validation_files(args: argparse.Namespace) -> list[Path]:
    """The first --eval-images pairs of the embedded validation split (the same for every preset)."""
    from sketch2color.config import DataConfig
    from sketch2color.data import find_pair_files, resolve_data_root, scan_pair_files

    base = DataConfig(
        data_dir=getattr(args, "data", None),
        image_size=args.image_size,
        embedded_train=args.embedded_train,
        embedded_val=args.embedded_val,
        seed=args.seed,
    )
    root = resolve_data_root(base)
    files, _ = scan_pair_files(find_pair_files(root, base.val_fraction, base.seed or 0)["val"], skip_bad=True)
    if not files:
        raise SystemExit(f"error: {root} has no validation pairs")
    return files[: args.eval_images]


def evaluate_run(
    run_dir: Path, files: list[Path], args: argparse.Namespace, averaged: bool | None = None, extractor=None
) -> dict:
    """The run scored like ``python -m sketch2color.evaluate --model RUN_DIR --no-fid``
    (``averaged``: see ``evaluate.load_model``), or with FID/KID when given an Inception
    ``extractor`` (``metrics.InceptionFeatureExtractor``)."""
    from sketch2color.evaluation import evaluate

    model = evaluate.load_model(run_dir, averaged)
    assert model.source == "checkpoint", model.source
    result = evaluate.evaluate(
        model,
        files,
        model.run_config.data,
        args.image_size,
        args.eval_batch_size,
        extractor=extractor,
        samples=0,
        progress=False,
    )
    return result["results"]


def baselines(files: list[Path], args: argparse.Namespace) -> dict:
    """The sketch as the output, and a flat mean target color, on the same images (0..255 metrics)."""
    import numpy as np

    from sketch2color.config import DataConfig
    from sketch2color.evaluation import evaluate, metrics

    plain = DataConfig(
        data_dir=getattr(args, "data", None),
        image_size=args.image_size,
        embedded_train=args.embedded_train,
        embedded_val=args.embedded_val,
        seed=args.seed,
    )
    mean_color = evaluate.mean_target_color(files, plain, args.image_size, args.eval_batch_size)
    totals = {"sketch": metrics.MetricTotals(), "mean_color": metrics.MetricTotals()}
    for sketches, targets in evaluate.uint8_batches(files, plain, args.image_size, args.eval_batch_size):
        totals["sketch"].update(sketches, targets)
        totals["mean_color"].update(np.broadcast_to(mean_color, targets.shape), targets)
    return {name: total.summary() for name, total in totals.items()}


# --------------------------------------------------------------------------- report


def _count(value: int) -> str:
    if not value:
        return "-"
    return f"{value / 1e6:.2f}M" if value >= 1e5 else f"{value / 1e3:.1f}k"


def _number(value, digits: int) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    settings, machine = report["settings"], report["machine"]
    batch = f"batch {settings['batch_size']}" if settings["batch_size"] else "each preset's own batch size"
    lines = [
        "# Presets on the embedded dataset, same CPU budget",
        "",
        f"Each preset trained for {settings['budget_seconds']:g} s of wall-clock time after its first step "
        f"(graph tracing excluded) at {settings['image_size']} px, "
        f"{batch}, "
        f"on the embedded dataset ({settings['embedded_train']} train / "
        f"{settings['embedded_val']} val pairs, seed {settings['seed']}); "
        f"VGG feature-loss weights: {settings['vgg_weights']}. "
        f"Scored on the first {report['eval_images']} validation pairs "
        "like `python -m sketch2color.evaluate --no-fid` "
        "(generator at training=False, uint8 in/out, metrics on 0..255: "
        "L1 = mean |error|, L2 = MSE, PSNR in dB, SSIM).",
        "",
        "| preset | generator | params (G) | params (D) | steps | images/s | L1 | L2 | PSNR | SSIM |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["presets"]:
        scores = row["metrics"]
        lines.append(
            f"| {row['preset']} | {row['generator']} "
            f"| {_count(row['params_generator'])} | {_count(row['params_discriminator'])} "
            f"| {row['steps']} | {_number(row['images_per_sec'], 2)} "
            f"| {_number(scores['l1'], 2)} | {_number(scores['l2'], 1)} "
            f"| {_number(scores['psnr'], 2)} | {_number(scores['ssim'], 4)} |"
        )
    for key, label in (("sketch", "baseline: sketch as output"), ("mean_color", "baseline: flat mean color")):
        scores = report["baselines"][key]
        lines.append(
            f"| {label} | - | - | - | - | - | {_number(scores['l1'], 2)} | {_number(scores['l2'], 1)} "
            f"| {_number(scores['psnr'], 2)} | {_number(scores['ssim'], 4)} |"
        )
    load = f"load average {machine['load_average_start']} before, {machine['load_average_end']} after"
    lines += [
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {machine['cpu_model'] or 'unknown CPU'}, "
        f"{machine['cpu_count']} CPUs ({machine['cpus_usable']} usable), "
        f"{machine['gpus']} GPU; TensorFlow {machine['tensorflow']}, Keras {machine['keras']}, "
        f"Python {machine['python']}; "
        f"{machine['platform']}; {load}.",
        "",
        "images/s counts the training steps after the first (which traces the graph). "
        "Steps differ between presets "
        "because the budget is time, not steps. Timings, mean training losses and the per-preset runs: "
        f"`{Path(report['json']).name}` and `{report['run_root']}`.",
    ]
    return "\n".join(lines) + "\n"


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python " + shlex.join(sys.argv if argv is None else [sys.argv[0], *argv])
    run_root = args.run_root or Path(tempfile.mkdtemp(prefix="bench_presets-"))
    for name in args.presets:
        folder = run_root / name
        if folder.exists() and any(folder.iterdir()):
            print(f"error: {folder} is not empty; pass another --run-root", file=sys.stderr)
            return 2
    machine = machine_info()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    files = validation_files(args)  # generates the embedded dataset on first use, before any timing
    print(
        f"{len(args.presets)} preset(s), {args.budget_seconds:g} s each; runs in {run_root}", file=sys.stderr
    )
    rows = []
    for name in args.presets:
        print(f"[{name}] training...", file=sys.stderr, flush=True)
        row = train_preset(name, args, run_root / name)
        print(
            f"[{name}] {row['steps']} steps, {_number(row['images_per_sec'], 2)} images/s "
            f"(build {row['build_seconds']:.1f} s, first step {row['first_step_seconds']:.1f} s); "
            "evaluating...",
            file=sys.stderr,
            flush=True,
        )
        scores = evaluate_run(run_root / name, files, args)
        row["metrics"] = scores["model"]
        row["input_baselines"] = {
            "sketch": scores["baseline_sketch"],
            "mean_color": scores["baseline_mean_color"],
        }
        rows.append(row)
    machine["load_average_end"] = _load_average()
    out = args.out
    report = {
        "command": command,
        "started": started,
        "settings": {
            key: getattr(args, key)
            for key in (
                "budget_seconds",
                "image_size",
                "batch_size",
                "embedded_train",
                "embedded_val",
                "seed",
                "vgg_weights",
                "eval_batch_size",
            )
        },
        "eval_images": len(files),
        "machine": machine,
        "presets": rows,
        "baselines": baselines(files, args),
        "run_root": str(run_root),
        "json": str(out.with_suffix(".json")),
    }
    report = _json_safe(report)
    text = markdown(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(text)
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
