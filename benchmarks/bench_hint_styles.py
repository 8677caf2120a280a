"""Hint models trained on stroke hints vs cell hints, scored with hints drawn the way users draw them.

    python benchmarks/bench_hint_styles.py [--steps 1500] [--image-size 64] [--eval-images 80] [--seed 0]

Two pix2pix U-Nets with color hints (``--hints``, 32 base filters, batch 4, ``--image-size``) are
trained for the same number of steps on the embedded dataset, identical in everything (seed,
data order, augmentation) except the training hints: ``--hint-style strokes`` (short one-color
strokes and dots, the default) and ``--hint-style cells`` (lone cells on the 4x4 hint grid, the
SGRU proposal's sampling).

Both are then scored on the validation pairs through the user's path, ``colorize_array`` with an
RGBA hint image at 4x the training size (so the hint image is downsampled like a real one): 10
hints per image drawn like a brush, 7 strokes (3-segment polylines of 8-20 px per segment, 3 px
wide) and 3 dots (radius 2), each in the target's color where it starts, and kept only where
the target stays within 24 levels of that color (a careful user stays inside a region). The same
hints for both models. L1 (0..255) and PSNR against the target, with and without the hints.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.data.embedded import ensure_embedded_dataset  # noqa: E402
from sketch2color.data.files import list_images, read_pair  # noqa: E402
from sketch2color.evaluation import metrics  # noqa: E402
from sketch2color.export import colorize_array, load_colorizer  # noqa: E402
from sketch2color.training import train  # noqa: E402

STYLES = ("strokes", "cells")
TOLERANCE = 24.0  # levels: where the drawn hint stops, as a careful user would


def hint_config(style: str, args: argparse.Namespace, run_dir: Path) -> RunConfig:
    """The one config both models share, but for the training hints' style."""
    config = RunConfig(run_dir=str(run_dir))
    config.data.image_size, config.data.batch_size, config.data.seed = args.image_size, 4, args.seed
    config.data.hints, config.data.hint_style = True, style
    config.model.generator_kwargs = {"base_filters": 32}
    config.model.discriminator_kwargs = {"base_filters": 32}
    config.train.epochs = args.epochs
    config.train.steps_per_epoch = args.steps // args.epochs
    config.train.lr_decay_epochs = args.epochs // 2
    config.train.metrics_images, config.train.fid_every = 0, 0
    config.train.validation_steps = 1
    return config


def drawn_hints(target: np.ndarray, rng: np.random.Generator, strokes: int = 7, dots: int = 3) -> np.ndarray:
    """An RGBA hint image like a user's brush work on ``target`` (uint8 [H, W, 3])."""
    height, width = target.shape[:2]
    canvas = np.zeros((height, width, 4), np.uint8)
    for index in range(strokes + dots):
        start = np.array([rng.integers(0, width), rng.integers(0, height)])
        color = target[start[1], start[0]].astype(np.float32)
        mask = np.zeros((height, width), np.uint8)
        if index < strokes:
            points, angle = [start], rng.uniform(0, 2 * np.pi)
            for _ in range(3):
                angle += rng.uniform(-np.pi / 4, np.pi / 4)
                step = rng.uniform(8, 20) * np.array([np.cos(angle), np.sin(angle)])
                points.append(points[-1] + step)
            cv2.polylines(mask, [np.round(points).astype(np.int32)], False, 1, thickness=3)
        else:
            cv2.circle(mask, tuple(int(v) for v in start), 2, 1, thickness=-1)
        inside = np.linalg.norm(target.astype(np.float32) - color, axis=-1) <= TOLERANCE
        drawn = (mask > 0) & inside
        canvas[drawn] = np.append(color.astype(np.uint8), 255)
    return canvas


def evaluation_set(count: int, size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(sketch, target, RGBA hints) at ``size`` px for the first ``count`` embedded validation pairs."""
    rng = np.random.default_rng(seed)
    items = []
    for path in sorted(list_images(ensure_embedded_dataset() / "val"))[:count]:
        sketch, target = (
            cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in read_pair(path)
        )
        items.append((sketch, target, drawn_hints(target, rng)))
    return items


def score(colorizer, items, with_hints: bool) -> dict[str, float]:
    """Mean L1 and PSNR over the items, with the drawn hints or without any."""
    outputs = np.stack(
        [
            colorize_array(colorizer, sketch, hint_image=hints if with_hints else None, detail="none")
            for sketch, _, hints in items
        ]
    )
    values = metrics.image_metrics(outputs, np.stack([target for _, target, _ in items]))
    return {"l1": float(values["l1"].mean()), "psnr": float(values["psnr"].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="training steps per model (default 1500)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs the steps are spread over (default 5)")
    parser.add_argument("--image-size", type=int, default=64, help="training size (default 64)")
    parser.add_argument("--eval-images", type=int, default=80, help="validation pairs scored (default 80)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0; another: the noise)")
    parser.add_argument("--run-root", type=Path, help="keep the two runs here (default: a temporary folder)")
    args = parser.parse_args()
    items = evaluation_set(args.eval_images, args.image_size * 4)
    coverage = np.mean([(hints[..., 3] > 0).mean() for _, _, hints in items])
    print(f"{len(items)} validation pairs at {args.image_size * 4} px, drawn hints cover {coverage:.2%}")
    with tempfile.TemporaryDirectory() as scratch:
        root = args.run_root or Path(scratch)
        results = {}
        for style in STYLES:
            start = time.perf_counter()
            config = hint_config(style, args, root / style)
            train(config, verbose=0)
            colorizer = load_colorizer(root / style)
            results[style] = {"hints": score(colorizer, items, True), "none": score(colorizer, items, False)}
            print(f"trained '{style}' for {args.steps} steps in {time.perf_counter() - start:.0f} s")
    print("\n| trained on | L1 with drawn hints ↓ | PSNR with drawn hints ↑ | L1 no hints | PSNR no hints |")
    print("|---|---:|---:|---:|---:|")
    for style, result in results.items():
        hinted, plain = result["hints"], result["none"]
        figures = (hinted["l1"], hinted["psnr"], plain["l1"], plain["psnr"])
        print(f"| {style} | " + " | ".join(f"{value:.2f}" for value in figures) + " |")
    strokes, cells = results["strokes"]["hints"], results["cells"]["hints"]
    print(
        f"\nwith drawn hints, strokes vs cells: L1 {strokes['l1'] / cells['l1']:.3f}x, "
        f"PSNR {strokes['psnr'] - cells['psnr']:+.2f} dB"
    )


if __name__ == "__main__":
    main()
