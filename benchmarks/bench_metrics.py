"""Evaluation throughput at 256 px: pixel metrics (batched TF) vs InceptionV3 features for FID.

    python benchmarks/bench_metrics.py [--repeats 3] [--images 64] [--batch-size 16]

Side by side, in images/s (median of the repeats), on the same structured 256 px images:
PSNR + L1 + L2, SSIM (float64), all of them together (``metrics.image_metrics``), and the FID
feature extraction (resize to 299 + InceptionV3, random weights: same graph and cost as the
ImageNet ones). For context: the 256 px pix2pix U-Net forward pass every evaluation also pays,
and the one-off FID statistics cost (covariance + scipy sqrtm at 2048-d).

Then the accuracy that decides which implementation is used: the largest difference from
scikit-image of sketch2color's float64 SSIM/PSNR and of TensorFlow's float32
``tf.image.ssim`` / ``tf.image.psnr``, next to the tolerance the metric tests hold them to.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIZE = 256


def structured_images(count: int, seed: int):
    """uint8 [count, 256, 256, 3]: coarse color blocks plus noise (not constant, not pure noise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (count, 16, 16, 3), dtype=np.uint8)
    images = np.repeat(np.repeat(blocks, SIZE // 16, axis=1), SIZE // 16, axis=2).astype(np.int16)
    return np.clip(images + rng.integers(-12, 13, images.shape), 0, 255).astype(np.uint8)


def images_per_second(work, images, batch_size: int, repeats: int) -> float:
    """Median images/s of ``work(batch)`` over all images, after one warm-up batch."""
    work(images[:batch_size])  # tracing and first-call allocation are not throughput
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(images), batch_size):
            work(images[i : i + batch_size])
        rates.append(len(images) / (time.perf_counter() - start))
    return statistics.median(rates)


def fid_statistics_seconds(repeats: int) -> float:
    """Median seconds of mean/covariance + FID (scipy sqrtm) on 2048-d features of 2048 images."""
    import numpy as np

    from sketch2color.evaluation import metrics

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2048, 2048)), rng.normal(size=(2048, 2048)) + 0.1
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        metrics.fid_from_features(a, b)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--skip-sqrtm", action="store_true", help="skip the (slow) FID statistics timing")
    args = parser.parse_args()

    import tensorflow as tf

    from sketch2color.evaluation import metrics
    from sketch2color.models import build_generator

    predictions, targets = structured_images(args.images, 0), structured_images(args.images, 1)
    paired = lambda fn: lambda batch: fn(batch, targets[: len(batch)])  # noqa: E731
    extractor = metrics.InceptionFeatureExtractor(weights=None, batch_size=args.batch_size)
    generator = build_generator("unet", image_size=SIZE)
    forward = tf.function(lambda x: generator(tf.cast(x, tf.float32) / 127.5 - 1.0, training=False))

    rows = [
        ("PSNR + L1 + L2", paired(lambda p, t: (metrics.psnr(p, t), metrics.l1_distance(p, t)))),
        ("SSIM (float64)", paired(metrics.ssim)),
        ("all pixel metrics", paired(metrics.image_metrics)),
        ("tf.image.ssim (float32, not used)", paired(lambda p, t: tf.image.ssim(p, t, 255.0))),
        ("FID features (InceptionV3 @299)", extractor),
        ("context: U-Net 256 forward", forward),
    ]
    print(
        f"{args.images} images of {SIZE}x{SIZE}, batch {args.batch_size}, median of {args.repeats}; "
        f"{os.cpu_count()} CPU core(s), TensorFlow {tf.__version__}"
    )
    print(f"{'measure':34s} {'images/s':>10s} {'ms/image':>10s}")
    for name, work in rows:
        rate = images_per_second(work, predictions, args.batch_size, args.repeats)
        print(f"{name:34s} {rate:10.1f} {1000 / rate:10.1f}")
    if not args.skip_sqrtm:
        seconds = fid_statistics_seconds(1)  # ~30-90 s on 2 cores: once is enough
        print(f"{'FID statistics (2048-d, sqrtm)':34s} {'once:':>10s} {seconds:9.1f}s")
    print_accuracy(predictions[:16], targets[:16])


def print_accuracy(predictions, targets) -> None:
    """Max |value - scikit-image| per image of our float64 SSIM/PSNR and of tf.image's float32 ones."""
    import numpy as np
    import tensorflow as tf
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from sketch2color.evaluation import metrics

    ours = metrics.image_metrics(predictions, targets)
    reference_ssim = np.array(
        [
            structural_similarity(
                t,
                p,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255,
                channel_axis=-1,
            )
            for p, t in zip(predictions, targets)
        ]
    )
    reference_psnr = np.array(
        [peak_signal_noise_ratio(t, p, data_range=255) for p, t in zip(predictions, targets)]
    )
    tf_ssim = tf.image.ssim(tf.constant(predictions), tf.constant(targets), 255.0).numpy()
    tf_psnr = tf.image.psnr(tf.constant(predictions), tf.constant(targets), 255.0).numpy()
    print(f"\naccuracy on {len(predictions)} images, max |x - scikit-image| (the tests allow 1e-9, 1e-6 dB)")
    print(f"{'':34s} {'SSIM':>10s} {'PSNR (dB)':>10s}")
    for name, ssim, psnr in (
        ("sketch2color (float64)", ours["ssim"], ours["psnr"]),
        ("tf.image.ssim / psnr (float32)", tf_ssim, tf_psnr),
    ):
        ssim_error, psnr_error = np.abs(ssim - reference_ssim).max(), np.abs(psnr - reference_psnr).max()
        print(f"{name:34s} {ssim_error:10.1e} {psnr_error:10.1e}")


if __name__ == "__main__":
    main()
