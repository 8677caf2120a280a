"""Image-quality metrics with fixed, written-down settings: PSNR, SSIM, L1/L2, FID and KID.

Every number this package reports is computed here, so a PSNR in ``history.csv`` (training),
in ``report.json`` (``python -m sketch2color.evaluate``) and in a notebook mean the same thing.

Pixel metrics (per image, batched, TensorFlow)
----------------------------------------------
* **Value scale.** All metrics compare RGB images on the **0..255** scale. Inputs may be uint8
  (taken as is) or float in **[-1, 1]** (the generator's range), which :func:`to_255` maps with
  ``round((x + 1) * 127.5)`` -- i.e. quantized to 8 bits exactly like ``data.to_uint8`` and the
  exported model, so a model's metrics during training equal those of its saved images.
* **L1** = mean |prediction - target| per pixel-channel (0..255 scale).
  **L2** = mean (prediction - target)^2 per pixel-channel = **MSE** (0..255^2 scale), the
  convention of the ConvNet-vs-GAN table users compare with (L1 ~ 16-50, L2 ~ 750-4700).
* **PSNR** = 10 log10(255^2 / MSE) dB with the MSE over all pixels *and* channels of one image
  (``skimage.metrics.peak_signal_noise_ratio(data_range=255)``).
  Identical images give **PSNR = inf** per image (:func:`psnr` returns inf). When averaging over
  images, each value is **capped at 100 dB** (:data:`PSNR_CAP_DB`) so one perfect image cannot
  turn the mean into inf; the number of identical images is reported beside the mean
  (``psnr_identical``). 100 dB is already "indistinguishable": a single pixel-channel off by one
  level in a 256x256 image gives 101 dB.
* **SSIM** (Wang et al. 2004) with data range 255, an 11x11 Gaussian window with sigma 1.5,
  K1 = 0.01, K2 = 0.03, population (not sample) covariances, the mean of the SSIM map over the
  *valid* window positions (no padding), computed **per RGB channel and averaged** over the
  three channels. Equal to ``skimage.metrics.structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)`` to ~1e-14 (computed
  here in float64). ``tf.image.ssim(max_val=255)`` is the same formula in float32 and is kept out
  for that: it is up to 2.8e-5 off scikit-image on real pairs at 128 px and 4.5e-6 on smooth
  images, where the tests allow 1e-9; ``tf.image.psnr`` is up to 1.0e-5 dB off (tests: 1e-6 dB).
  Images must be at least 11x11. Per channel rather than on luminance
  because colorization errors are chromatic: a gray or wrongly hued output with the right
  lightness would score almost perfectly on luminance alone.

FID and KID (InceptionV3 features, numpy/scipy statistics)
----------------------------------------------------------
Published FIDs for the same model differ several-fold because the protocol (Inception port,
resize, sample count...) is rarely stated. This package fixes one, :data:`FID_PROTOCOL`:

1. Images: uint8 RGB at the evaluated resolution (float [-1, 1] is quantized by :func:`to_255`).
   Real set: the ground-truth colors of the evaluated split; generated set: the model's outputs
   for the sketches of the same images. All images of the split (validation by default).
2. Resize to **299x299**, ``tf.image.resize(method="bilinear", antialias=True)`` in float32 on
   0..255, no crop (pairs are square).
3. Values: Keras' InceptionV3 preprocessing, ``x / 127.5 - 1`` -> [-1, 1].
4. Features: ``keras.applications.InceptionV3(include_top=False, pooling="avg",
   weights="imagenet")`` -> the **2048-d** global average pool of the last mixed block.
   The ImageNet weights are read from the Keras cache (``$KERAS_HOME/models`` or
   ``~/.keras/models``, downloaded there once when missing, as Keras does) or from a file you name.
5. Statistics in **float64**: mean and covariance (``np.cov(rowvar=False)``, ddof 1).
6. ``FID = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))`` with ``scipy.linalg.sqrtm``; if the
   square root is not finite, 1e-6 I is added to both covariances and it is retried; a complex
   result is an error if a diagonal imaginary part exceeds 1e-3, otherwise its real part is used
   (the handling of the reference TTUR / pytorch-fid code). A zero covariance (a flat set: one
   image repeated) makes the sqrtm term exactly 0.
7. Samples: at least **2048** are recommended (below 2049 the 2048x2048 covariance is singular
   and FID is strongly biased upwards); fewer gives a warning. FID on few images is only
   comparable with FID on the *same number* of images.
8. **KID** (Binkowski et al. 2018), unbiased because FID is not: unbiased MMD^2 with the
   polynomial kernel ``k(x, y) = (x.y / d + 1)^3`` (d = 2048), averaged over 100 subsets of
   ``min(1000, n)`` features drawn without replacement (``numpy.random.default_rng(0)``).

Values are comparable only with values computed under this protocol: pytorch-fid and clean-fid
use another Inception port (the 2015 TF graph) and other resizes, and give different numbers.
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import scipy.linalg
import tensorflow as tf

from sketch2color.data.pixels import to_255 as _quantized_255
from sketch2color.data.pixels import to_unit_range
from sketch2color.models.pretrained import INCEPTION_V3, inception_v3_pool_features, weights_path

log = logging.getLogger(__name__)

DATA_RANGE = 255.0
PSNR_CAP_DB = 100.0

SSIM_SETTINGS = {
    "data_range": 255.0,
    "window": "gaussian 11x11",
    "filter_size": 11,
    "sigma": 1.5,
    "k1": 0.01,
    "k2": 0.03,
    "covariance": "population (use_sample_covariance=False)",
    "borders": "valid window positions only (no padding)",
    "channels": "per RGB channel, averaged over channels",
}

INCEPTION_SIZE = 299
INCEPTION_FEATURES = 2048
FID_MIN_RECOMMENDED = 2048
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
INCEPTION_WEIGHTS_FILE = INCEPTION_V3.file_name
INCEPTION_WEIGHTS_URL = INCEPTION_V3.url
INCEPTION_WEIGHTS_MD5 = INCEPTION_V3.md5

FID_PROTOCOL = {
    "name": "sketch2color-fid-v1",
    "input": (
        "uint8 RGB 0..255 at the evaluated resolution; float [-1, 1] quantized with round((x + 1) * 127.5)"
    ),
    "real_set": "ground-truth color images of the evaluated split",
    "generated_set": "model outputs for the sketches of the same images",
    "sample_count": "all images of the evaluated split (validation by default)",
    "min_recommended_samples": FID_MIN_RECOMMENDED,
    "resize": {
        "size": [INCEPTION_SIZE, INCEPTION_SIZE],
        "method": "bilinear",
        "antialias": True,
        "crop": None,
        "function": "tf.image.resize on float32 0..255",
    },
    "preprocess": "keras.applications.inception_v3.preprocess_input: x / 127.5 - 1 -> [-1, 1]",
    "network": "keras.applications.InceptionV3(include_top=False, pooling='avg', weights='imagenet')",
    "weights_file": INCEPTION_WEIGHTS_FILE,
    "weights_md5": INCEPTION_WEIGHTS_MD5,
    "feature_layer": "global average pool after mixed10",
    "feature_dim": INCEPTION_FEATURES,
    "statistics": "float64 mean and covariance (np.cov, rowvar=False, ddof=1)",
    "sqrtm": "scipy.linalg.sqrtm(S1 @ S2); if not finite: retry with 1e-6*I added to S1 and S2; "
    "complex: error if max |imag| on the diagonal > 1e-3, else real part",
    "formula": "|mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))",
    "kid": {
        "kernel": "polynomial (x.y / d + 1)^3",
        "degree": 3,
        "gamma": "1/d",
        "coef0": 1,
        "estimator": "unbiased MMD^2",
        "subsets": KID_SUBSETS,
        "subset_size": f"min({KID_SUBSET_SIZE}, n)",
        "sampling": "without replacement, numpy default_rng(0)",
    },
    "comparability": "only with values computed under this protocol (pytorch-fid / clean-fid differ)",
}


class FIDSampleSizeWarning(UserWarning):
    """FID computed on fewer images than :data:`FID_MIN_RECOMMENDED`."""


# --------------------------------------------------------------------------- value scale


def to_255(images) -> tf.Tensor:
    """uint8 images, or float images in [-1, 1], as float32 on the 0..255 scale (8-bit quantized).

    Floats are clipped and rounded like ``data.to_uint8`` so metrics match the saved images.
    A float image outside [-1, 1] (e.g. a float 0..255 image) is an error in eager mode.
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32)
    if not images.dtype.is_floating:
        raise TypeError(f"expected uint8 or float images, got {images.dtype.name}")
    if tf.executing_eagerly() and tf.size(images) > 0:
        low, high = float(tf.reduce_min(images)), float(tf.reduce_max(images))
        if low < -1.01 or high > 1.01:  # small slack: resampling can overshoot a little
            raise ValueError(
                f"float images must be in [-1, 1] (got values in [{low:.3g}, {high:.3g}]); "
                "pass uint8 for 0..255 images"
            )
    return _quantized_255(images)


def _as_batch(images) -> tf.Tensor:
    """A [B, H, W, 3] float 0..255 batch (a single [H, W, 3] image gets a batch axis)."""
    images = to_255(images)
    if images.shape.rank == 3:
        images = images[None]
    if images.shape.rank != 4:
        raise ValueError(f"expected images [B, H, W, C] or [H, W, C], got shape {images.shape}")
    return images


def _pair(predictions, targets, for_ssim: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
    """Both batches on 0..255, with matching shapes (and, for SSIM, the window size) checked."""
    predictions, targets = _as_batch(predictions), _as_batch(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"shape mismatch: predictions {predictions.shape} vs targets {targets.shape}")
    window = SSIM_SETTINGS["filter_size"]
    if for_ssim and min(predictions.shape[1], predictions.shape[2]) < window:
        raise ValueError(
            f"SSIM needs images of at least {window}x{window} pixels, got {predictions.shape[1:3]}"
        )
    return predictions, targets


# --------------------------------------------------------------------------- pixel metrics


def l1_distance(predictions, targets) -> tf.Tensor:
    """Per-image mean |difference| per pixel-channel on the 0..255 scale, shape [B] (float64)."""
    return _l1_255(*_pair(predictions, targets))


def mse(predictions, targets) -> tf.Tensor:
    """Per-image mean squared difference per pixel-channel on the 0..255 scale, shape [B] (float64)."""
    return _mse_255(*_pair(predictions, targets))


l2_distance = mse  # "L2 distance per pixel-channel" in the ConvNet-vs-GAN table is the MSE


def psnr_from_mse(mse_values) -> tf.Tensor:
    """10 log10(255^2 / MSE) in dB; MSE 0 (identical images) gives +inf."""
    mse_values = tf.cast(mse_values, tf.float64)
    safe = tf.where(mse_values > 0, mse_values, tf.ones_like(mse_values))
    value = 10.0 * tf.math.log(DATA_RANGE**2 / safe) / tf.math.log(tf.constant(10.0, tf.float64))
    return tf.where(mse_values > 0, value, tf.constant(np.inf, tf.float64))


def psnr(predictions, targets) -> tf.Tensor:
    """Per-image PSNR in dB (data range 255, MSE over pixels and channels), shape [B]; inf if identical."""
    return psnr_from_mse(mse(predictions, targets))


def ssim(predictions, targets) -> tf.Tensor:
    """Per-image SSIM, shape [B]: Gaussian 11x11 sigma 1.5, K1 0.01, K2 0.03, range 255, RGB mean.

    Images must be at least 11x11. See the module docstring for the exact definition.
    """
    return _ssim_255(*_pair(predictions, targets, for_ssim=True))


def image_metrics(predictions, targets) -> dict[str, np.ndarray]:
    """Per-image ``psnr``, ``ssim``, ``l1`` and ``mse`` (= L2) of a batch, as float64 numpy arrays."""
    predictions, targets = _pair(predictions, targets, for_ssim=True)
    squared = _mse_255(predictions, targets)
    return {
        "psnr": psnr_from_mse(squared).numpy(),
        "ssim": _ssim_255(predictions, targets).numpy(),
        "l1": _l1_255(predictions, targets).numpy(),
        "mse": squared.numpy(),
    }


# The _255 helpers take float 0..255 batches of equal shape (the output of _pair).


def _l1_255(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Per-image mean absolute difference."""
    return tf.cast(tf.reduce_mean(tf.abs(predictions - targets), axis=[1, 2, 3]), tf.float64)


def _mse_255(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Per-image mean squared difference, in float64."""
    # float64: exact for 8-bit differences, so PSNR near identity is not rounding noise.
    difference = tf.cast(predictions, tf.float64) - tf.cast(targets, tf.float64)
    return tf.reduce_mean(tf.square(difference), axis=[1, 2, 3])


def gaussian_window(
    size: int = SSIM_SETTINGS["filter_size"], sigma: float = SSIM_SETTINGS["sigma"]
) -> np.ndarray:
    """The normalized 1-D Gaussian of the SSIM window (the 2-D window is its outer product)."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    weights = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return weights / weights.sum()


def _gaussian_blur_valid(images: tf.Tensor) -> tf.Tensor:
    """Separable Gaussian filter of each channel, valid positions only (no padding)."""
    window = gaussian_window()
    channels = images.shape[-1]
    size = len(window)
    vertical = tf.constant(np.tile(window.reshape(size, 1, 1, 1), (1, 1, channels, 1)), images.dtype)
    horizontal = tf.constant(np.tile(window.reshape(1, size, 1, 1), (1, 1, channels, 1)), images.dtype)
    blurred = tf.nn.depthwise_conv2d(images, vertical, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(blurred, horizontal, [1, 1, 1, 1], "VALID")


@tf.function(reduce_retracing=True)
def _ssim_255(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Per-image SSIM with :data:`SSIM_SETTINGS`, in float64.

    float64 because sigma^2 = E[x^2] - E[x]^2 on the 0..255 scale loses ~1e-4 of SSIM to
    cancellation in float32 (tf.image.ssim) on smooth images; this matches scikit-image to 1e-12.
    """
    x, y = tf.cast(predictions, tf.float64), tf.cast(targets, tf.float64)
    # All five local moments in one filter pass: channels [x | y | x^2 | y^2 | xy].
    moments = _gaussian_blur_valid(tf.concat([x, y, x * x, y * y, x * y], axis=-1))
    mu_x, mu_y, xx, yy, xy = tf.split(moments, 5, axis=-1)
    var_x, var_y, cov_xy = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
    c1 = (SSIM_SETTINGS["k1"] * SSIM_SETTINGS["data_range"]) ** 2
    c2 = (SSIM_SETTINGS["k2"] * SSIM_SETTINGS["data_range"]) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    # Mean over positions, then over channels (every channel has the same number of positions).
    return tf.reduce_mean(ssim_map, axis=[1, 2, 3])


def mean_psnr(values, cap: float = PSNR_CAP_DB) -> float:
    """Mean of per-image PSNRs, each capped at ``cap`` dB (identical images count as ``cap``)."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.mean(np.minimum(values, cap))) if values.size else float("nan")


class MetricTotals:
    """Accumulates per-image metrics over batches and summarizes them (see :meth:`summary`)."""

    def __init__(self):
        self.values: dict[str, list[np.ndarray]] = {"psnr": [], "ssim": [], "l1": [], "mse": []}

    def update(self, predictions, targets) -> dict[str, np.ndarray]:
        """Add one batch; returns its per-image metrics."""
        batch = image_metrics(predictions, targets)
        for name, values in batch.items():
            self.values[name].append(values)
        return batch

    @property
    def count(self) -> int:
        """Images seen so far."""
        return int(sum(len(v) for v in self.values["l1"]))

    def per_image(self) -> dict[str, np.ndarray]:
        """All per-image values so far, one array per metric."""
        return {name: np.concatenate(v) if v else np.zeros(0) for name, v in self.values.items()}

    def summary(self) -> dict[str, float]:
        """``psnr`` (mean, capped), ``psnr_median``, ``psnr_identical`` (count), ``ssim``, ``l1``, ``l2``."""
        values = self.per_image()
        nan = float("nan")
        return {
            "images": self.count,
            "psnr": mean_psnr(values["psnr"]),
            "psnr_median": float(np.median(np.minimum(values["psnr"], PSNR_CAP_DB))) if self.count else nan,
            "psnr_identical": int(np.sum(np.isinf(values["psnr"]))),
            "ssim": float(np.mean(values["ssim"])) if self.count else nan,
            "l1": float(np.mean(values["l1"])) if self.count else nan,
            "l2": float(np.mean(values["mse"])) if self.count else nan,
        }


# --------------------------------------------------------------------------- FID / KID statistics


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of [N, D] features in float64 (covariance with ddof 1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians N(mu1, sigma1) and N(mu2, sigma2) (TTUR handling of sqrtm)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"mismatched statistics: {mu1.shape}/{mu2.shape}, {sigma1.shape}/{sigma2.shape}")
    difference = mu1 - mu2
    if not sigma1.any() or not sigma2.any():
        # A flat set (one image repeated) has S = 0, so sqrtm(S1 S2) = 0 exactly: skip the O(d^3) work.
        return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2))
    with warnings.catch_warnings():
        # Singular products (few samples, flat images) are expected; finiteness is checked below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            log.warning("FID: sqrtm(S1 S2) is not finite; adding %g to the covariance diagonals", eps)
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"FID: sqrtm has a large imaginary component ({np.max(np.abs(covmean.imag)):.3g})"
            )
        covmean = covmean.real
    return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(features_a, features_b) -> float:
    """FID between two [N, D] feature sets (warns when either has fewer than the recommended count)."""
    smallest = min(len(features_a), len(features_b))
    if smallest < FID_MIN_RECOMMENDED:
        # warnings (not logging): shown once per process, not at every epoch of a training run.
        warnings.warn(
            f"FID on {smallest} images (< {FID_MIN_RECOMMENDED} recommended): biased upwards and only "
            "comparable with FID on the same number of images; see KID",
            FIDSampleSizeWarning,
            stacklevel=2,
        )
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def polynomial_kernel(x, y, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> np.ndarray:
    """The kernel matrix (gamma x.y + coef0)^degree in float64, gamma = 1/d by default."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased_from_kernels(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size sets from their kernel matrices (diagonals excluded)."""
    m = len(k_xx)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def polynomial_mmd2_unbiased(x, y, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between two equal-size sets with kernel (gamma x.y + coef0)^degree, gamma = 1/d."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(y) != len(x) or len(x) < 2:
        raise ValueError(f"need two sets of the same size >= 2, got {len(x)} and {len(y)}")
    kernel = lambda a, b: polynomial_kernel(a, b, degree, gamma, coef0)  # noqa: E731
    return mmd2_unbiased_from_kernels(kernel(x, x), kernel(y, y), kernel(x, y))


KID_FULL_KERNEL_LIMIT = 4000  # up to this many features per set, compute each kernel once (<= 128 MB)


def kid_from_features(
    features_a, features_b, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """KID (mean, std over subsets) between two [N, D] feature sets; see :data:`FID_PROTOCOL`.

    Same values as computing every subset from scratch; for sets up to
    :data:`KID_FULL_KERNEL_LIMIT` the kernels are computed once and the subsets index into them.
    """
    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    n_a, n_b = len(features_a), len(features_b)
    size = min(subset_size, n_a, n_b)
    if size < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {n_a} and {n_b}")
    rng = np.random.default_rng(seed)
    draws = [
        (rng.choice(n_a, size, replace=False), rng.choice(n_b, size, replace=False)) for _ in range(subsets)
    ]
    if max(n_a, n_b) <= KID_FULL_KERNEL_LIMIT:
        k_aa = polynomial_kernel(features_a, features_a)
        k_bb = polynomial_kernel(features_b, features_b)
        k_ab = polynomial_kernel(features_a, features_b)
        values = [
            mmd2_unbiased_from_kernels(k_aa[np.ix_(a, a)], k_bb[np.ix_(b, b)], k_ab[np.ix_(a, b)])
            for a, b in draws
        ]
    else:
        values = [polynomial_mmd2_unbiased(features_a[a], features_b[b]) for a, b in draws]
    return float(np.mean(values)), float(np.std(values))


# --------------------------------------------------------------------------- InceptionV3 features


def prepare_inception_input(images) -> tf.Tensor:
    """Protocol steps 1-3: uint8 or [-1, 1] images -> 299x299 (bilinear, antialias) -> [-1, 1] float32."""
    images = _as_batch(images)
    resized = tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear", antialias=True)
    return to_unit_range(resized)  # = keras.applications.inception_v3.preprocess_input ("tf" mode)


class InceptionFeatureExtractor:
    """2048-d InceptionV3 pool features under :data:`FID_PROTOCOL`; call it on image batches.

    ``weights``: "imagenet" (Keras cache, see :mod:`sketch2color.models.pretrained`), a weights file,
    or None for random weights (same cost, meaningless values: tests and benchmarks only).
    The network is built on first use, so constructing an extractor is cheap.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = "imagenet",
        batch_size: int = 16,
        cache_dir: str | os.PathLike | None = None,
    ):
        self.weights_path = weights_path(INCEPTION_V3, weights, cache_dir)
        self.weights = "random" if weights is None else ("imagenet" if str(weights) == "imagenet" else "file")
        self.batch_size = batch_size
        self._model = None
        self._predict = None

    @property
    def valid_fid(self) -> bool:
        """Whether these features give a meaningful FID (trained weights, not random)."""
        return self.weights_path is not None

    @property
    def model(self):
        """The InceptionV3 feature model (built, and its weights loaded, on first use)."""
        if self._model is None:
            model = inception_v3_pool_features(self.weights_path, INCEPTION_SIZE)
            self._model = model
            self._predict = tf.function(
                lambda x: model(prepare_inception_input(x), training=False), reduce_retracing=True
            )
        return self._model

    def __call__(self, images) -> np.ndarray:
        """Features [N, 2048] (float32) of uint8 or [-1, 1] images [N, H, W, 3], in chunks of batch_size."""
        self.model  # noqa: B018  (builds the network)
        images = tf.cast(_as_batch(images), tf.uint8)  # exact: values are already whole 0..255
        chunks = [
            self._predict(images[i : i + self.batch_size]).numpy()
            for i in range(0, int(images.shape[0]), self.batch_size)
        ]
        if not chunks:
            return np.zeros((0, INCEPTION_FEATURES), np.float32)
        return np.concatenate(chunks).astype(np.float32)
