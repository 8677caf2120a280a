"""Evaluate a colorizer on pair images: PSNR, SSIM, L1, L2, FID, KID, next to trivial baselines.

    report = evaluate_model("runs/pix2pix-embedded", fid=False)   # = python -m sketch2color.evaluate

The model is a run directory (its export, or its latest checkpoint when the export is missing
or older), an export directory, or a SavedModel directory. Every image goes through the same
uint8 path as users get: the model's ``serve`` signature (uint8 sketch in, uint8 color out).

The same images are also scored for two baselines, so every number has context:

* ``baseline_sketch``: the sketch itself as the output (what "doing nothing" scores);
* ``baseline_mean_color``: a flat image of the mean target color of the evaluated images.

Writes ``OUT/report.json`` (protocol, counts, metrics per model), ``OUT/report.md`` (a Markdown
table) and ``OUT/samples.png`` (sketch | prediction | ground truth). Metric definitions and the
FID protocol: :mod:`sketch2color.metrics`. FID is the slow part: InceptionV3 on every real,
predicted and sketch image (~5 images/s on 2 CPU cores) plus one 2048x2048 ``scipy.linalg.sqrtm``
per entry (~0.5-1.5 min each on 2 cores); ``--no-fid`` skips both. Exit code 2 on a user error
(bad path, no data, no Inception weights offline), with a one-line message.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sketch2color import runs
from sketch2color.config import ConfigError, DataConfig
from sketch2color.data.conditioning import split_input
from sketch2color.data.files import bad_file_lines, find_pair_files, output_dir_problem, scan_pair_files
from sketch2color.data.pipeline import conditioning_spec, file_check_cache, make_dataset, resolve_data_root
from sketch2color.data.pixels import to_uint8
from sketch2color.evaluation import metrics
from sketch2color.evaluation.report import ENTRIES, protocol, write_report
from sketch2color.export import Colorizer, load_colorizer, saved_model_path
from sketch2color.export.inference import conditioning_of, serve

log = logging.getLogger(__name__)

SPLITS = ("val", "train", "all")
DEFAULT_IMAGE_SIZE = 256


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
    colorizer: object | None = None  # the export.Colorizer behind predict, for one-image calls


# --------------------------------------------------------------------------- model


def load_model(path: str | Path, averaged: bool | None = None) -> LoadedModel:
    """Load a run dir (export or latest checkpoint), an export dir, a SavedModel dir or a
    ``.keras`` generator file (loaded with ``safe_mode=True``).

    ``averaged`` (run directories only) reads the checkpoint's weight average (True) or its
    trained weights (False) of an ``--ema-decay`` run; by default what the export holds, the average.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise EvaluationError(f"{path}: no such model (expected a run directory or an exported model)")
    if path.suffix == ".keras" and path.is_file():
        return _from_export(path, None, None)
    try:
        saved = saved_model_path(path)
    except FileNotFoundError:
        saved = None
    run_dir = runs.find_run_dir(path)
    config = runs.load_run_config(run_dir) if run_dir else None
    checkpoint = runs.latest_checkpoint(path) if runs.is_run_dir(path) else None
    if averaged is not None and not checkpoint:
        raise EvaluationError(
            f"{path}: choosing the averaged or trained weights needs a run directory with a checkpoint"
        )
    if checkpoint and (
        averaged is not None or saved is None or _newer(checkpoint + ".index", saved / "saved_model.pb")
    ):
        return _from_checkpoint(config, run_dir, averaged)
    if saved is not None:
        return _from_export(saved, config, run_dir)
    if run_dir == path:
        raise EvaluationError(
            f"{path}: run directory without a checkpoint or an export: nothing to evaluate yet"
        )
    raise EvaluationError(
        f"{path}: not a run directory (no config.json) nor an exported model (no saved_model.pb)"
    )


def _newer(first: str | Path, second: str | Path) -> bool:
    """Whether file ``first`` was written after file ``second`` (a resumed run outdates its export)."""
    try:
        return Path(first).stat().st_mtime > Path(second).stat().st_mtime
    except OSError:
        return False


def _serving_function(colorizer) -> tuple[Callable[..., np.ndarray], int, bool]:
    """(predict, palette colors, uses hints) of an export.Colorizer, saved or in memory."""
    palette_colors, uses_hints = conditioning_of(colorizer)
    return functools.partial(serve, colorizer), palette_colors, uses_hints


def _from_export(saved: Path, config, run_dir: Path | None) -> LoadedModel:
    """An exported SavedModel (or a .keras generator), called through its serve() signature."""
    colorizer = load_colorizer(saved)
    size = int(colorizer.image_size.numpy()) if hasattr(colorizer, "image_size") else None
    predict, palette_colors, uses_hints = _serving_function(colorizer)
    return LoadedModel(
        predict, "export", str(saved), run_dir, config, size, palette_colors, uses_hints, colorizer
    )


def _from_checkpoint(config, run_dir: Path, averaged: bool | None = None) -> LoadedModel:
    """The run's generator rebuilt from its config, restored from its newest readable checkpoint
    (a damaged newest one is skipped with a warning), and wrapped like an export."""
    try:
        generator, _, checkpoint = runs.restore_generator(run_dir, config, averaged)
    except ConfigError as error:
        raise EvaluationError(str(error)) from None
    # The same wrapper as the export: identical resizing, padding and uint8 rounding.
    colorizer = Colorizer(generator, config.data.image_size, conditioning_spec(config.data))
    predict, palette_colors, uses_hints = _serving_function(colorizer)
    return LoadedModel(
        predict,
        "checkpoint",
        checkpoint,
        run_dir,
        config,
        config.data.image_size,
        palette_colors,
        uses_hints,
        colorizer,
    )


# --------------------------------------------------------------------------- data


def select_files(model: LoadedModel, data: str | None, split: str, max_images: int | None):
    """(root, files, skipped, data_config) of the evaluated split, checked and cut to max_images."""
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
    files, skipped = scan_pair_files(
        files, skip_bad=True, max_pixels=base.max_image_pixels, verdicts=file_check_cache(root)
    )
    if skipped:
        log.warning("skipped %d bad pair file(s):\n%s", len(skipped), bad_file_lines(skipped))
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
    config = dataclasses.replace(data_config, image_size=image_size, batch_size=batch_size, cache="none")
    spec = conditioning_spec(config)
    for inputs, colors in make_dataset(files, config, training=False):
        base, palette, hints = split_input(inputs, spec)
        conditioning = {}
        if palette is not None:
            conditioning["palette"] = to_uint8(palette).numpy()
        if hints is not None:
            conditioning["hints"] = hints.numpy()
        yield to_uint8(base).numpy(), to_uint8(colors).numpy(), conditioning


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


def evaluate(
    model: LoadedModel,
    files,
    data_config,
    image_size: int,
    batch_size: int = 8,
    extractor=None,
    samples: int = 6,
    progress: bool = True,
) -> dict:
    """Metrics of the model and both baselines on ``files``; returns the report's results part."""
    mean_color = mean_target_color(files, data_config, image_size, batch_size)
    totals = {name: metrics.MetricTotals() for name in ENTRIES}
    features = {name: [] for name in ("real", "model", "baseline_sketch")}
    shown = {"sketches": [], "predictions": [], "targets": []}
    batches = tqdm(
        model_batches(files, data_config, image_size, batch_size),
        total=math.ceil(len(files) / batch_size),
        desc="evaluating",
        unit="batch",
        disable=not progress,
        file=sys.stderr,
    )
    for sketches, targets, conditioning in batches:
        predictions = model.predict(sketches, **conditioning)
        flat = np.broadcast_to(mean_color, targets.shape)
        for name, outputs in (
            ("model", predictions),
            ("baseline_sketch", sketches),
            ("baseline_mean_color", flat),
        ):
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


# --------------------------------------------------------------------------- the whole job


def default_output_dir(model: LoadedModel, model_path: str | Path, split: str) -> Path:
    """RUN_DIR/evaluation-SPLIT, or ./evaluation-NAME-SPLIT for a model outside a run directory."""
    if model.run_dir is not None:
        return model.run_dir / f"evaluation-{split}"
    return Path(f"evaluation-{Path(model_path).resolve().name}-{split}")


def conditioning_note(model: LoadedModel) -> str | None:
    """How a conditioned model's extra inputs were made (None for plain sketch models)."""
    parts = []
    if model.palette_colors:
        parts.append(
            f"palette: the {model.palette_colors}-color K-means palette of each target (as in training)"
        )
    if model.uses_hints:
        parts.append("hints: sampled from each target with the fixed validation seed (as in training)")
    return "; ".join(parts) or None


def evaluate_model(
    model_path: str | Path,
    data: str | None = None,
    split: str = "val",
    image_size: int | None = None,
    max_images: int | None = None,
    batch_size: int = 8,
    fid: bool = True,
    inception_weights: str | None = None,
    samples: int = 6,
    out: str | Path | None = None,
    progress: bool = True,
) -> tuple[dict, Path]:
    """Evaluate a model and write its report folder; returns (the report.json contents, the folder).

    What ``python -m sketch2color.evaluate`` does, with the same argument names as its flags.
    """
    start = time.perf_counter()
    if out is not None and (problem := output_dir_problem(out)):  # before any work, not after it
        raise EvaluationError(f"--out {out}: {problem}")
    extractor = None
    if fid:  # before any heavy work: a missing weights file should stop us at once
        extractor = metrics.InceptionFeatureExtractor(inception_weights or "imagenet")
        extractor.model  # noqa: B018  (loads the weights now: a bad file fails before the long run)
    model = load_model(model_path)
    out_dir = Path(out) if out else default_output_dir(model, model_path, split)
    if problem := output_dir_problem(out_dir):
        raise EvaluationError(f"{out_dir}: report folder {problem}; choose another with --out")
    image_size = image_size or model.image_size or DEFAULT_IMAGE_SIZE
    root, files, skipped, data_config = select_files(model, data, split, max_images)
    print(
        f"evaluating {len(files)} images of {root} ({split}) at {image_size} px; model from its "
        f"{model.source}: {model.location}",
        file=sys.stderr,
    )
    evaluation = evaluate(model, files, data_config, image_size, batch_size, extractor, samples, progress)
    report = {
        "protocol": protocol(extractor),
        "model": {"path": str(model_path), "source": model.source, "location": model.location},
        "data": {
            "root": str(root),
            "split": split,
            "images": len(files),
            "skipped": [str(b) for b in skipped],
            "image_size": image_size,
            "sketch_side": data_config.sketch_side,
            "input_mode": data_config.input_mode,
            "conditioning": conditioning_note(model),
        },
        "mean_color": evaluation["mean_color"],
        "metrics": evaluation["results"],
        "seconds": time.perf_counter() - start,
    }
    return write_report(report, evaluation["shown"], out_dir), out_dir
