"""Evaluate a colorizer on pair images: PSNR, SSIM, L1, L2, FID, KID, next to trivial baselines.

    python -m sketch2color.evaluate --model RUN_DIR_OR_EXPORT [--data FOLDER] [--split val|train|all]
        [--image-size 256] [--max-images N] [--no-fid] [--inception-weights FILE] [--out DIR]

``--model`` is a run directory (its export, or its latest checkpoint when the export is missing
or older), an export directory, or a SavedModel directory. Every image goes through the same
uint8 path as users get: the model's ``serve`` signature (uint8 sketch in, uint8 color out).

The same images are also scored for two baselines, so every number has context:

* ``baseline_sketch``: the sketch itself as the output (what "doing nothing" scores);
* ``baseline_mean_color``: a flat image of the mean target color of the evaluated images.

Writes ``OUT/report.json`` (protocol, counts, metrics per model), ``OUT/report.md`` (a Markdown
table) and ``OUT/samples.png`` (sketch | prediction | ground truth). Metric definitions and the
FID protocol: :mod:`sketch2color.metrics`. FID is the slow part: InceptionV3 on every real,
predicted and sketch image (~5 images/s on 2 CPU cores) plus one 2048x2048 ``scipy.linalg.sqrtm``
per entry (~0.5-1.5 min each on 2 cores); ``--no-fid`` skips both. Exit code 2 on a user error (bad path, no data, no
Inception weights offline), with a one-line message.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

SPLITS = ("val", "train", "all")
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
SAMPLES_PNG = "samples.png"
DEFAULT_IMAGE_SIZE = 256
ENTRIES = {
    "model": "model",
    "baseline_sketch": "baseline: sketch (model input) as output",
    "baseline_mean_color": "baseline: flat mean color",
}


class EvaluationError(Exception):
    """A user error (bad path, empty split...) reported as one line with exit code 2."""


@dataclasses.dataclass
class LoadedModel:
    """A colorizer as a uint8 -> uint8 function, and where it came from.

    ``predict(sketches, palette=None, hints=None)``: uint8 [B, H, W, 3] sketches (+ uint8
    [B, n, 3] palette for palette models, + float32 [B, H, W, 4] hints for hint models; no
    hints = zeros) -> uint8 [B, H, W, 3] colors, through the export's serve() path.
    """

    predict: Callable[..., np.ndarray]
    source: str  # "export" or "checkpoint"
    location: str
    run_dir: Path | None
    run_config: object | None  # RunConfig of the run, when known
    image_size: int | None  # the size the model was trained at, when known
    palette_colors: int = 0  # > 0: the model takes a palette of that many colors
    uses_hints: bool = False


# --------------------------------------------------------------------------- model


def find_run_dir(path: Path) -> Path | None:
    """The run directory of ``path``: itself, or up to two levels up (export/saved_model)."""
    for candidate in (path, path.parent, path.parent.parent):
        if (candidate / "config.json").is_file():
            return candidate
    return None


def load_model(path: str | Path) -> LoadedModel:
    """Load a run dir (export or latest checkpoint), an export dir or a SavedModel dir."""
    from sketch2color.config import RunConfig, load_json
    from sketch2color.export import saved_model_path
    from sketch2color.training import latest_checkpoint

    path = Path(path).expanduser()
    if not path.exists():
        raise EvaluationError(f"{path}: no such model (expected a run directory or an exported model)")
    try:
        saved = saved_model_path(path)
    except FileNotFoundError:
        saved = None
    run_dir = find_run_dir(path)
    config = load_json(RunConfig, run_dir / "config.json") if run_dir else None
    checkpoint = latest_checkpoint(path) if (path / "config.json").is_file() else None
    if checkpoint and (saved is None or _newer(checkpoint + ".index", saved / "saved_model.pb")):
        return _from_checkpoint(checkpoint, config, run_dir)
    if saved is not None:
        return _from_export(saved, config, run_dir)
    if run_dir == path:
        raise EvaluationError(f"{path}: run directory without a checkpoint or an export: nothing to evaluate yet")
    raise EvaluationError(f"{path}: not a run directory (no config.json) nor an exported model (no saved_model.pb)")


def _newer(first: str | Path, second: str | Path) -> bool:
    """Whether file ``first`` was written after file ``second`` (a resumed run outdates its export)."""
    try:
        return Path(first).stat().st_mtime > Path(second).stat().st_mtime
    except OSError:
        return False


def _serving_function(colorizer) -> tuple[Callable[..., np.ndarray], int, bool]:
    """(predict, palette colors, uses hints) of an export.Colorizer, saved or in memory."""
    import tensorflow as tf

    # Exports from before conditioning existed have neither variable: plain sketch models.
    palette_colors = int(colorizer.palette_colors.numpy()) if hasattr(colorizer, "palette_colors") else 0
    uses_hints = bool(colorizer.uses_hints.numpy()) if hasattr(colorizer, "uses_hints") else False

    def predict(sketches, palette=None, hints=None) -> np.ndarray:
        inputs = [tf.constant(sketches, tf.uint8)]
        if palette_colors:
            if palette is None:
                raise EvaluationError("this model is conditioned on a color palette: pass palette=uint8 [B, n, 3]")
            inputs.append(tf.constant(palette, tf.uint8))
        if uses_hints:
            inputs.append(tf.constant(np.zeros(np.shape(sketches)[:3] + (4,), np.float32) if hints is None else hints, tf.float32))
        return colorizer.serve(*inputs)["color"].numpy()

    return predict, palette_colors, uses_hints


def _from_export(saved: Path, config, run_dir: Path | None) -> LoadedModel:
    """An exported SavedModel, called through its serve() signature."""
    from sketch2color.export import load_colorizer

    colorizer = load_colorizer(saved)
    size = int(colorizer.image_size.numpy()) if hasattr(colorizer, "image_size") else None
    predict, palette_colors, uses_hints = _serving_function(colorizer)
    return LoadedModel(predict, "export", str(saved), run_dir, config, size, palette_colors, uses_hints)


def _from_checkpoint(checkpoint: str, config, run_dir: Path) -> LoadedModel:
    """The run's generator rebuilt from its config, restored, and wrapped like an export."""
    import tensorflow as tf

    from sketch2color.data import conditioning_spec
    from sketch2color.export import Colorizer
    from sketch2color.training import build_generator_for, precision_policy

    with precision_policy(False):
        generator = build_generator_for(config)
    tf.train.Checkpoint(generator=generator).restore(checkpoint).expect_partial()
    # The same wrapper as the export: identical resizing, padding and uint8 rounding.
    colorizer = Colorizer(generator, config.data.image_size, conditioning_spec(config.data))
    predict, palette_colors, uses_hints = _serving_function(colorizer)
    return LoadedModel(predict, "checkpoint", checkpoint, run_dir, config, config.data.image_size, palette_colors, uses_hints)


# --------------------------------------------------------------------------- data


def select_files(model: LoadedModel, data: str | None, split: str, max_images: int | None):
    """(root, files, skipped, data_config) of the evaluated split, checked and cut to max_images."""
    from sketch2color.config import DataConfig
    from sketch2color.data import find_pair_files, resolve_data_root, scan_pair_files

    base = dataclasses.replace(model.run_config.data) if model.run_config else DataConfig()
    if data is not None:
        base.data_dir = str(data)
    elif model.run_config is None:
        raise EvaluationError(f"{model.location}: no run config next to this model, so pass --data FOLDER")
    # The pipeline must build the inputs the model takes (an export alone does not carry its config).
    base.palette, base.hints = bool(model.palette_colors), model.uses_hints
    root = resolve_data_root(base)
    by_split = find_pair_files(root, base.val_fraction, base.seed or 0)
    files = by_split["train"] + by_split["val"] if split == "all" else by_split[split]
    if not files:
        raise EvaluationError(f"{root}: the {split!r} split has no pair images (try --split all)")
    files, skipped = scan_pair_files(files, skip_bad=True)
    if skipped:
        log.warning("skipped %d bad pair file(s): %s", len(skipped), "; ".join(map(str, skipped[:5])))
    if max_images is not None:
        files = files[:max_images]
    if not files:
        raise EvaluationError(f"{root}: no usable pair images in the {split!r} split")
    return root, files, skipped, base


def model_batches(files, data_config, image_size: int, batch_size: int):
    """(sketch, color, conditioning) batches at image_size, in file order, from the validation pipeline.

    sketch and color are uint8; the sketch is the model's base input (the sketch, or edges /
    gray for such runs). conditioning holds ``palette`` (uint8 [B, n, 3]) and ``hints`` (float32
    [B, H, W, 4]) for conditioned models: made from the target exactly as validation does in
    training (the target's K-means palette; hints sampled with the fixed validation seed).
    """
    import tensorflow as tf

    from sketch2color.data import conditioning_spec, make_dataset, to_uint8

    config = dataclasses.replace(data_config, image_size=image_size, batch_size=batch_size, cache="none")
    spec = conditioning_spec(config)
    for inputs, colors in make_dataset(files, config, training=False):
        conditioning = {}
        if spec.palette:  # constant planes after the 3 base channels: one pixel holds the palette
            planes = inputs[:, 0, 0, 3 : 3 + 3 * spec.n_colors]
            conditioning["palette"] = to_uint8(tf.reshape(planes, (-1, spec.n_colors, 3))).numpy()
        if spec.hints:
            conditioning["hints"] = inputs[..., -4:].numpy()
        yield to_uint8(inputs[..., :3]).numpy(), to_uint8(colors).numpy(), conditioning


def uint8_batches(files, data_config, image_size: int, batch_size: int):
    """(sketch, color) uint8 numpy batches at image_size, in file order (the training pipeline's decode)."""
    for sketches, colors, _ in model_batches(files, data_config, image_size, batch_size):
        yield sketches, colors


def mean_target_color(files, data_config, image_size: int, batch_size: int) -> np.ndarray:
    """Mean RGB (0..255, rounded to uint8) of the target images: the flat-color baseline."""
    total, pixels = np.zeros(3, np.float64), 0
    plain = dataclasses.replace(data_config, input_mode="sketch", palette=False, hints=False)  # colors only
    for _, colors in uint8_batches(files, plain, image_size, batch_size):
        total += colors.reshape(-1, 3).sum(axis=0, dtype=np.float64)
        pixels += colors.shape[0] * colors.shape[1] * colors.shape[2]
    return np.round(total / pixels).astype(np.uint8)


# --------------------------------------------------------------------------- evaluation


def evaluate(model: LoadedModel, files, data_config, image_size: int, batch_size: int = 8,
             extractor=None, samples: int = 6, progress: bool = True) -> dict:
    """Metrics of the model and both baselines on ``files``; returns the report's results part."""
    from tqdm import tqdm

    from sketch2color import metrics

    mean_color = mean_target_color(files, data_config, image_size, batch_size)
    totals = {name: metrics.MetricTotals() for name in ENTRIES}
    features = {name: [] for name in ("real", "model", "baseline_sketch")}
    shown = {"sketches": [], "predictions": [], "targets": []}
    batches = tqdm(
        model_batches(files, data_config, image_size, batch_size),
        total=math.ceil(len(files) / batch_size), desc="evaluating", unit="batch", disable=not progress, file=sys.stderr,
    )
    for sketches, targets, conditioning in batches:
        predictions = model.predict(sketches, **conditioning)
        flat = np.broadcast_to(mean_color, targets.shape)
        for name, outputs in (("model", predictions), ("baseline_sketch", sketches), ("baseline_mean_color", flat)):
            totals[name].update(outputs, targets)
        if extractor is not None:
            features["real"].append(extractor(targets))
            features["model"].append(extractor(predictions))
            features["baseline_sketch"].append(extractor(sketches))
        room = samples - len(shown["sketches"])
        for key, images in (("sketches", sketches), ("predictions", predictions), ("targets", targets)):
            shown[key].extend(images[: max(0, room)])
    results = {name: total.summary() for name, total in totals.items()}
    if extractor is not None:
        flat_image = np.broadcast_to(mean_color, (1, image_size, image_size, 3))
        _add_fid(results, features, extractor(flat_image))
    return {"results": results, "mean_color": mean_color.tolist(), "shown": shown}


def _add_fid(results: dict, features: dict, mean_color_feature: np.ndarray) -> None:
    """FID and KID of each entry against the real images' features."""
    from sketch2color import metrics

    real = np.concatenate(features["real"])
    entries = {name: np.concatenate(features[name]) for name in ("model", "baseline_sketch")}
    # A flat image has one feature vector: the set is that vector n times (zero covariance).
    entries["baseline_mean_color"] = np.repeat(mean_color_feature, len(real), axis=0)
    for index, (name, fake) in enumerate(entries.items()):
        if len(real) < 2:
            results[name].update(fid=None, kid=None, kid_std=None)
            continue
        kid, kid_std = metrics.kid_from_features(fake, real)
        with warnings.catch_warnings():
            if index:  # the small-sample warning once, not once per entry
                warnings.simplefilter("ignore", metrics.FIDSampleSizeWarning)
            results[name].update(fid=metrics.fid_from_features(fake, real), kid=kid, kid_std=kid_std)


# --------------------------------------------------------------------------- reports


def protocol(extractor) -> dict:
    """The exact metric settings, for the report."""
    from sketch2color import metrics

    return {
        "value_scale": "RGB 0..255 (uint8 model outputs)",
        "l1": "mean |prediction - target| per pixel-channel",
        "l2": "mean (prediction - target)^2 per pixel-channel (= MSE)",
        "psnr": f"10 log10(255^2 / MSE) per image; mean over images with each value capped at {metrics.PSNR_CAP_DB} dB "
                "(identical images are +inf, counted in psnr_identical)",
        "ssim": metrics.SSIM_SETTINGS,
        "fid": dict(metrics.FID_PROTOCOL, weights_used=extractor.weights, valid=extractor.valid_fid) if extractor else None,
    }


def _json_safe(value):
    """NaN and inf as None, numpy scalars as Python numbers (strict JSON)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _cell(value, digits: int) -> str:
    """A table cell: the number (significant digits when tiny), or an en dash when not computed."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.3g}" if 0 < abs(value) < 10**-digits else f"{value:.{digits}f}"


def markdown_report(report: dict) -> str:
    """report.md: what was evaluated, the metrics table, and how to read it."""
    data, results = report["data"], report["metrics"]
    with_fid = report["protocol"]["fid"] is not None
    header = "| | PSNR (dB) ↑ | SSIM ↑ | L1 ↓ | L2 (MSE) ↓ |" + (" FID ↓ | KID ×1000 ↓ |" if with_fid else "")
    lines = [
        f"# Evaluation of `{report['model']['location']}`",
        "",
        f"{data['images']} images of split `{data['split']}` of `{data['root']}` at {data['image_size']} px "
        f"(model from its {report['model']['source']}).",
        *([f"Conditioning: {data['conditioning']}.", ""] if data.get("conditioning") else [""]),
        header,
        "|---" * (header.count("|") - 1) + "|",
    ]
    for name, label in ENTRIES.items():
        entry = results[name]
        if name == "baseline_mean_color":
            label += " rgb(" + ", ".join(map(str, report["mean_color"])) + ")"
        row = f"| {label} | {_cell(entry['psnr'], 2)} | {_cell(entry['ssim'], 4)} | {_cell(entry['l1'], 2)} | {_cell(entry['l2'], 1)} |"
        if with_fid:
            kid = entry.get("kid")
            row += f" {_cell(entry.get('fid'), 2)} | {_cell(kid * 1000 if kid is not None else None, 2)} |"
        lines.append(row)
    lines += [
        "",
        "All metrics on RGB 0..255. L1/L2 per pixel-channel (L2 = MSE). PSNR: mean over images, each capped "
        f"at 100 dB ({results['model']['psnr_identical']} model outputs identical to their target). "
        "SSIM: Gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03, per RGB channel, averaged.",
    ]
    if with_fid:
        fid = report["protocol"]["fid"]
        lines.append(
            f"FID/KID: protocol `{fid['name']}` (InceptionV3 pool features, 299 px bilinear antialiased, "
            f"weights: {fid['weights_used']}), real set = the {data['images']} ground-truth images."
        )
        if not fid["valid"]:
            lines.append("**Random Inception weights: FID/KID values are NOT meaningful.**")
        if data["images"] < fid["min_recommended_samples"]:
            lines.append(
                f"Fewer than {fid['min_recommended_samples']} images: FID is biased upwards; compare it only with "
                "FID on the same number of images (KID is unbiased)."
            )
    lines.append(f"Protocol details: `{REPORT_JSON}`; metric definitions: `sketch2color/metrics.py`.")
    return "\n".join(lines) + "\n"


def save_samples(shown: dict, path: Path) -> Path | None:
    """samples.png: sketch | prediction | ground truth rows."""
    from sketch2color.callbacks import save_preview_grid

    if not shown["sketches"]:
        return None
    unit = lambda images: np.stack(images).astype(np.float32) / 127.5 - 1.0  # noqa: E731  ([-1, 1] for the grid)
    return save_preview_grid(unit(shown["sketches"]), unit(shown["predictions"]), unit(shown["targets"]), path)


# --------------------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.evaluate",
        description="Score a colorizer (PSNR, SSIM, L1, L2, FID, KID) against trivial baselines on pair images.",
    )
    parser.add_argument("--model", required=True, help="run directory, export directory or SavedModel directory")
    parser.add_argument("--data", help="pair folder (default: the run's own dataset)")
    parser.add_argument("--split", choices=SPLITS, default="val", help="which split of the folder (default: val)")
    parser.add_argument("--image-size", type=int, help="evaluation size in px (default: the model's, else 256)")
    parser.add_argument("--max-images", type=int, help="evaluate only the first N images of the split")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--fid", action=argparse.BooleanOptionalAction, default=True, help="compute FID and KID (default: on)")
    parser.add_argument("--inception-weights", metavar="FILE", help="InceptionV3 no-top weights file (default: the Keras cache)")
    parser.add_argument("--download-inception", action="store_true", help="allow downloading the Inception weights if missing")
    parser.add_argument("--samples", type=int, default=6, help="rows of samples.png")
    parser.add_argument("--out", help="output folder (default: RUN_DIR/evaluation-SPLIT, else ./evaluation-NAME-SPLIT)")
    args = parser.parse_args(argv)
    if args.image_size is not None and args.image_size < 16:
        parser.error(f"--image-size must be >= 16 (SSIM uses an 11x11 window), got {args.image_size}")
    if args.max_images is not None and args.max_images < 1:
        parser.error(f"--max-images must be >= 1, got {args.max_images}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    return args


def output_dir(args: argparse.Namespace, model: LoadedModel) -> Path:
    """--out, or a folder named after the model and the split."""
    if args.out:
        return Path(args.out)
    if model.run_dir is not None:
        return model.run_dir / f"evaluation-{args.split}"
    return Path(f"evaluation-{Path(args.model).resolve().name}-{args.split}")


def conditioning_note(model: LoadedModel) -> str | None:
    """How a conditioned model's extra inputs were made (None for plain sketch models)."""
    parts = []
    if model.palette_colors:
        parts.append(f"palette: the {model.palette_colors}-color K-means palette of each target (as in training)")
    if model.uses_hints:
        parts.append("hints: sampled from each target with the fixed validation seed (as in training)")
    return "; ".join(parts) or None


def run(args: argparse.Namespace) -> dict:
    """Evaluate as the command line asked; returns the report written to report.json."""
    from sketch2color import metrics

    start = time.perf_counter()
    extractor = None
    if args.fid:  # before any heavy work: a missing weights file should stop us at once
        weights = args.inception_weights or "imagenet"
        extractor = metrics.InceptionFeatureExtractor(weights, allow_download=args.download_inception)
        extractor.model  # noqa: B018  (loads the weights now: a bad file fails before the long run)
    model = load_model(args.model)
    image_size = args.image_size or model.image_size or DEFAULT_IMAGE_SIZE
    root, files, skipped, data_config = select_files(model, args.data, args.split, args.max_images)
    print(f"evaluating {len(files)} images of {root} ({args.split}) at {image_size} px; model from its "
          f"{model.source}: {model.location}", file=sys.stderr)
    evaluation = evaluate(model, files, data_config, image_size, args.batch_size, extractor, args.samples)
    report = {
        "protocol": protocol(extractor),
        "model": {"path": str(args.model), "source": model.source, "location": model.location},
        "data": {"root": str(root), "split": args.split, "images": len(files), "skipped": [str(b) for b in skipped],
                 "image_size": image_size, "sketch_side": data_config.sketch_side, "input_mode": data_config.input_mode,
                 "conditioning": conditioning_note(model)},
        "mean_color": evaluation["mean_color"],
        "metrics": evaluation["results"],
        "seconds": time.perf_counter() - start,
    }
    out = output_dir(args, model)
    out.mkdir(parents=True, exist_ok=True)
    report = _json_safe(report)
    (out / REPORT_JSON).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    (out / REPORT_MD).write_text(markdown_report(report))
    save_samples(evaluation["shown"], out / SAMPLES_PNG)
    print(markdown_report(report))
    print(f"wrote {out / REPORT_JSON}, {out / REPORT_MD}, {out / SAMPLES_PNG}", file=sys.stderr)
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    from sketch2color.config import ConfigError
    from sketch2color.data import DatasetError
    from sketch2color.metrics import InceptionWeightsError

    try:
        run(args)
    except (EvaluationError, InceptionWeightsError, DatasetError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
