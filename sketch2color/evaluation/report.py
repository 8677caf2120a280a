"""The evaluation report: report.json (every setting and number), report.md (the table), samples.png.

``save_preview_grid`` draws the sketch | prediction | ground truth rows of ``samples.png``; the
training previews (``previews/epoch_NNNN.png``) are the same picture.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sketch2color.data.pixels import display, to_unit_range
from sketch2color.evaluation import metrics

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
SAMPLES_PNG = "samples.png"
ENTRIES = {
    "model": "model",
    "baseline_sketch": "baseline: sketch (model input) as output",
    "baseline_mean_color": "baseline: flat mean color",
}


def protocol(extractor) -> dict:
    """The exact metric settings, for the report."""
    return {
        "value_scale": "RGB 0..255 (uint8 model outputs)",
        "l1": "mean |prediction - target| per pixel-channel",
        "l2": "mean (prediction - target)^2 per pixel-channel (= MSE)",
        "psnr": (
            "10 log10(255^2 / MSE) per image; mean over images with each value capped at "
            f"{metrics.PSNR_CAP_DB} dB (identical images are +inf, counted in psnr_identical)"
        ),
        "ssim": metrics.SSIM_SETTINGS,
        "fid": dict(metrics.FID_PROTOCOL, weights_used=extractor.weights, valid=extractor.valid_fid)
        if extractor
        else None,
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
        row = (
            f"| {label} | {_cell(entry['psnr'], 2)} | {_cell(entry['ssim'], 4)} "
            f"| {_cell(entry['l1'], 2)} | {_cell(entry['l2'], 1)} |"
        )
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
                f"Fewer than {fid['min_recommended_samples']} images: FID is biased upwards; "
                "compare it only with FID on the same number of images (KID is unbiased)."
            )
    lines.append(
        f"Protocol details: `{REPORT_JSON}`; metric definitions: `sketch2color/evaluation/metrics.py`."
    )
    return "\n".join(lines) + "\n"


def save_preview_grid(sketches, predictions, targets, path: str | Path, title: str = "") -> Path:
    """One row per sample: sketch | prediction | ground truth (inputs in [-1, 1])."""
    # A standalone Figure, not pyplot: switching pyplot to Agg would turn off inline plots
    # in the notebook or IPython session that is training.
    rows = len(sketches)
    fig = Figure(figsize=(7.5, 2.5 * rows))
    axes = fig.subplots(rows, 3, squeeze=False)
    for row in range(rows):
        for column, (image, label) in enumerate(
            ((sketches[row], "sketch"), (predictions[row], "prediction"), (targets[row], "ground truth"))
        ):
            axes[row, column].imshow(display(image))
            axes[row, column].axis("off")
            if row == 0:
                axes[row, column].set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path


def save_samples(shown: dict, path: Path) -> Path | None:
    """samples.png: sketch | prediction | ground truth rows (uint8 images)."""
    if not shown["sketches"]:
        return None
    rows = [to_unit_range(np.stack(shown[key])) for key in ("sketches", "predictions", "targets")]
    return save_preview_grid(*rows, path)


def write_report(report: dict, shown: dict, out: Path) -> dict:
    """Write report.json, report.md and samples.png into ``out``; returns the JSON-safe report."""
    out.mkdir(parents=True, exist_ok=True)
    report = _json_safe(report)
    (out / REPORT_JSON).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    (out / REPORT_MD).write_text(markdown_report(report))
    save_samples(shown, out / SAMPLES_PNG)
    return report
