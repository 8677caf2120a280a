"""Full-resolution output: the plain upscale vs line-preserving output (``--detail none`` vs ``lines``).

    python benchmarks/bench_detail.py --model runs/pix2pix-embedded [--real ../shared/data/anime_pairs]
        [--embedded 40] [--crop docs/detail_crop.png]

A model trained at 128 px colors each pair's sketch half at the pair's full size, both ways, and
each result is scored against the pair's color half at that size:

* L1 (0..255, lower is better) and PSNR (dB), as ``python -m sketch2color.evaluate`` computes them;
* SSIM of the luminance (structure: lines and edges);
* line sharpness: the mean luminance gradient magnitude on the pixels of the sketch's lines
  (within 1 px), as a share of the same figure for the true color image (1.0 = as crisp as the
  artist's own colored picture; the plain upscale blurs it away).

Sets: the real pairs of ``--real`` whose halves are larger than the model's training size (the
others would not be upscaled: both outputs are the model's own), and ``--embedded`` validation
pairs of the embedded set (512 px halves). ``--crop`` writes a side-by-side crop picture of an
embedded pair (sketch | plain upscale | lines | truth); it never shows the real pairs, whose
artists' rights are not ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import ndimage  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

from sketch2color.data.embedded import ensure_embedded_dataset  # noqa: E402
from sketch2color.data.files import list_images, read_pair  # noqa: E402
from sketch2color.data.sketch import luminance  # noqa: E402
from sketch2color.evaluation import metrics  # noqa: E402
from sketch2color.export import colorize_array, load_colorizer  # noqa: E402

REAL_PAIRS = Path(__file__).resolve().parents[2] / "shared" / "data" / "anime_pairs"
LINE_LEVEL = 128  # sketch luminance below this is a line


def gradient_magnitude(gray: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of a float luminance image."""
    return np.hypot(ndimage.sobel(gray, axis=0), ndimage.sobel(gray, axis=1))


def scores(output: np.ndarray, truth: np.ndarray, sketch: np.ndarray) -> dict[str, float]:
    """L1, PSNR, luminance SSIM and line sharpness of one output against its truth."""
    pixel = metrics.image_metrics(output[None], truth[None])
    out_gray, true_gray = luminance(output).astype(np.float64), luminance(truth).astype(np.float64)
    lines = ndimage.binary_dilation(luminance(sketch) < LINE_LEVEL, iterations=1)
    sharp_true = gradient_magnitude(true_gray)[lines].mean() if lines.any() else np.nan
    return {
        "l1": float(pixel["l1"][0]),
        "psnr": float(pixel["psnr"][0]),
        "ssim_y": float(structural_similarity(out_gray, true_gray, data_range=255.0, gaussian_weights=True)),
        "sharpness": float(gradient_magnitude(out_gray)[lines].mean() / sharp_true),
    }


def score_set(colorizer, files: list[Path], training_size: int) -> dict[str, dict[str, list[float]]]:
    """Per-file scores of both outputs; halves not larger than the training size are left out."""
    results = {"none": {}, "lines": {}}
    seconds = {"none": [], "lines": []}
    for path in files:
        sketch, truth = read_pair(path)
        if max(sketch.shape[:2]) <= training_size:
            continue
        for detail in results:
            start = time.perf_counter()
            output = colorize_array(colorizer, sketch, detail=detail)
            seconds[detail].append(time.perf_counter() - start)
            for key, value in scores(output, truth, sketch).items():
                results[detail].setdefault(key, []).append(value)
    return results, seconds


def report(name: str, results: dict, seconds: dict) -> None:
    """Median (and quartiles) of each figure, both outputs side by side, and their ratio."""
    count = len(next(iter(results["none"].values()), []))
    print(f"\n{name}: {count} pairs")
    if not count:
        return
    print("| figure | plain upscale | lines | lines / plain |\n|---|---:|---:|---:|")
    for key in results["none"]:
        plain, lines = (np.array(results[d][key]) for d in ("none", "lines"))
        print(
            f"| {key} | {np.median(plain):.3f} (IQR {np.subtract(*np.percentile(plain, [75, 25])):.3f}) "
            f"| {np.median(lines):.3f} (IQR {np.subtract(*np.percentile(lines, [75, 25])):.3f}) "
            f"| {np.median(lines) / np.median(plain):.3f} |"
        )
    for detail in ("none", "lines"):
        timed = seconds[detail][1:] or seconds[detail]  # the first call traces the graph
        print(f"  seconds per image, detail={detail}: median {statistics.median(timed):.3f}")
    better = {
        key: sum(
            (b < a) if key == "l1" else (b > a) for a, b in zip(results["none"][key], results["lines"][key])
        )
        for key in results["none"]
    }
    print("  pairs where lines is better: " + ", ".join(f"{k} {v}/{count}" for k, v in better.items()))


def write_crop(colorizer, path: Path, out: Path, size: int = 160) -> None:
    """sketch | plain upscale | lines | truth, a crop of ``size`` px from the middle, 2x nearest-enlarged."""
    sketch, truth = read_pair(path)
    plain, lines = (colorize_array(colorizer, sketch, detail=d) for d in ("none", "lines"))
    top, left = (sketch.shape[0] - size) // 2, (sketch.shape[1] - size) // 2
    crops = [image[top : top + size, left : left + size] for image in (sketch, plain, lines, truth)]
    gap = np.full((size, 4, 3), 255, np.uint8)
    strip = np.concatenate([part for crop in crops for part in (crop, gap)][:-1], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).resize((strip.shape[1] * 2, size * 2), Image.NEAREST).save(out)
    print(f"\ncrop picture (embedded {path.name}: sketch | --detail none | --detail lines | truth): {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/pix2pix-embedded", help="run, export or SavedModel folder")
    parser.add_argument(
        "--real", type=Path, default=REAL_PAIRS, help="folder of real pairs (skipped if absent)"
    )
    parser.add_argument("--embedded", type=int, default=40, help="embedded validation pairs (0: none)")
    parser.add_argument("--crop", type=Path, help="write a crop picture of an embedded pair here")
    args = parser.parse_args()
    colorizer = load_colorizer(args.model)
    training_size = int(colorizer.image_size.numpy())
    print(f"model {args.model}: trained at {training_size} px")
    if args.real.is_dir():
        report(f"real pairs ({args.real})", *score_set(colorizer, list_images(args.real), training_size))
    else:
        print(f"{args.real}: not here, real pairs skipped")
    if args.embedded:
        val = sorted(list_images(ensure_embedded_dataset() / "val"))[: args.embedded]
        report("embedded validation pairs (512 px halves)", *score_set(colorizer, val, training_size))
        if args.crop:
            write_crop(colorizer, val[0], args.crop)


if __name__ == "__main__":
    main()
