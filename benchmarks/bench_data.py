"""Pairs/s through the training pipeline at 256 px, cold (PNG decode) and warm (cached).

    python benchmarks/bench_data.py [--repeats 3] [--embedded 200]

A third column is the warm pipeline of the palette models (``--palette``, the reference
preset): the 9-color K-means palette of every augmented target, computed per example per epoch
with ``cv2.kmeans`` through ``tf.numpy_function``.

Measured side by side in one run on the shared real sample pairs (when present) and on the
embedded procedural set, and compared with what one 256 px pix2pix training step (batch 1)
consumes on the same machine. Target: warm pipeline >= 10x the training step's appetite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REAL_PAIRS = Path(__file__).resolve().parents[2] / "shared" / "data" / "anime_pairs"


def pairs_per_second(dataset, pairs: int) -> float:
    """Iterate the dataset once and return delivered pairs per second."""
    start = time.perf_counter()
    count = 0
    for sketch, _ in dataset:
        count += int(sketch.shape[0])
    elapsed = time.perf_counter() - start
    assert count == pairs, (count, pairs)
    return count / elapsed


def measure_pipeline(files, repeats: int) -> tuple[float, float, float]:
    """(cold, warm, warm with palette) median pairs/s of the augmented training pipeline at 256 px,
    batch 1."""
    from sketch2color.config import DataConfig
    from sketch2color.data import make_dataset

    base = dict(image_size=256, batch_size=1, seed=0)
    cold = []
    for _ in range(repeats):
        cold.append(
            pairs_per_second(make_dataset(files, DataConfig(cache="none", **base), training=True), len(files))
        )
    cached = make_dataset(files, DataConfig(cache="memory", **base), training=True)
    pairs_per_second(cached, len(files))  # fills the cache
    warm = [pairs_per_second(cached, len(files)) for _ in range(repeats)]
    with_palette = make_dataset(files, DataConfig(cache="memory", palette=True, **base), training=True)
    pairs_per_second(with_palette, len(files))  # fills the cache
    palette = [pairs_per_second(with_palette, len(files)) for _ in range(repeats)]
    return statistics.median(cold), statistics.median(warm), statistics.median(palette)


def check_seconds_per_1000(files, repeats: int) -> tuple[float, float]:
    """(first, remembered) median seconds per 1,000 files of the pre-training decode check."""
    from sketch2color.data.files import scan_pair_files

    first, again = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            verdicts = Path(tmp) / "verdicts.json"
            start = time.perf_counter()
            scan_pair_files(files, skip_bad=True, verdicts=verdicts, progress=False)
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            scan_pair_files(files, skip_bad=True, verdicts=verdicts, progress=False)
            again.append(time.perf_counter() - start)
    return tuple(1000 * statistics.median(times) / len(files) for times in (first, again))


def train_step_images_per_second(steps: int, repeats: int) -> float:
    """Median images/s of pix2pix training steps at 256 px, batch 1, on in-memory tensors."""
    import tensorflow as tf

    from sketch2color.config import RunConfig
    from sketch2color.training import build_gan

    config = RunConfig()
    config.data.image_size = 256
    gan = build_gan(config, steps_per_epoch=steps)
    batch = tf.random.uniform((1, 256, 256, 3), -1, 1), tf.random.uniform((1, 256, 256, 3), -1, 1)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace and warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embedded", type=int, default=200, help="embedded pairs to generate (1024x512)")
    parser.add_argument("--train-steps", type=int, default=8)
    args = parser.parse_args()

    from sketch2color.data import list_images
    from sketch2color.data.embedded import write_dataset

    sets = {}
    if REAL_PAIRS.is_dir():
        sets["real samples (512x256, 256x128)"] = list_images(REAL_PAIRS)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dataset(Path(tmp) / "embedded", n_train=args.embedded, n_val=0, progress=False)
        sets["embedded (1024x512)"] = list_images(root / "train")
        results = {name: measure_pipeline(files, args.repeats) for name, files in sets.items()}
        # JPEG files pay one more decode: simplejpeg's strict pass, which catches cut-and-resealed files.
        jpeg_dir = Path(tmp) / "jpeg"
        jpeg_dir.mkdir()
        for path in sets["embedded (1024x512)"]:
            Image.open(path).convert("RGB").save(jpeg_dir / f"{path.stem}.jpg", quality=90)
        checks = {name: check_seconds_per_1000(files, args.repeats) for name, files in sets.items()}
        checks["embedded as JPEG (1024x512)"] = check_seconds_per_1000(list_images(jpeg_dir), args.repeats)
    step_rate = train_step_images_per_second(args.train_steps, args.repeats)

    print(
        f"\npix2pix training step, 256 px, batch 1: {step_rate:.2f} images/s consumed "
        f"(median of {args.repeats})"
    )
    print(
        f"{'dataset':34s} {'pairs':>5s} {'cold pairs/s':>13s} {'warm pairs/s':>13s} {'warm / step':>12s} "
        f"{'palette pairs/s':>16s} {'palette / step':>15s}"
    )
    for name, (cold, warm, palette) in results.items():
        print(
            f"{name:34s} {len(sets[name]):5d} {cold:13.1f} {warm:13.1f} {warm / step_rate:11.1f}x "
            f"{palette:16.1f} {palette / step_rate:14.1f}x"
        )
    print("target: warm / step >= 10x (palette models included)")
    print("\ndecode check before training (verify + full decode of every file), seconds per 1,000 files:")
    for name, (first, remembered) in checks.items():
        print(f"{name:34s} first {first:7.2f} s   remembered (unchanged files) {remembered:6.3f} s")


if __name__ == "__main__":
    main()
