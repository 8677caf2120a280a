"""The metrics against independent references: scikit-image, numpy/scipy, closed forms, by hand.

InceptionV3 runs with random weights (same graph and cost as ImageNet ones, which cannot be
downloaded here), built once for the module and fed only a few tiny images.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sketch2color.data import list_images, read_pair
from sketch2color.evaluation import metrics
from sketch2color.models.pretrained import PretrainedWeightsUnavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
PSNR_TOLERANCE_DB = 1e-6
SSIM_TOLERANCE = 1e-9  # both in float64: only summation order differs


def skimage_psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """The reference PSNR with the documented settings."""
    return peak_signal_noise_ratio(target, prediction, data_range=255)


def skimage_ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """The reference SSIM with the documented settings."""
    return structural_similarity(
        target,
        prediction,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1,
    )


def noisy_copy(rng: np.random.Generator, images: np.ndarray, spread: int) -> np.ndarray:
    """``images`` plus uniform integer noise, clipped to uint8."""
    noise = rng.integers(-spread, spread + 1, images.shape)
    return np.clip(images.astype(np.int32) + noise, 0, 255).astype(np.uint8)


# --- value scale and pixel metrics -------------------------------------------------------------


def test_to_255_maps_uint8_and_unit_range_floats():
    assert metrics.to_255(np.array([0, 17, 255], np.uint8)).numpy().tolist() == [0.0, 17.0, 255.0]
    floats = np.array([-1.0, -0.5, 0.0, 1.0, 1.005], np.float32)
    # round((x + 1) * 127.5) with round-half-to-even, as data.to_uint8; 1.005 is clipped
    assert metrics.to_255(floats).numpy().tolist() == [0.0, 64.0, 128.0, 255.0, 255.0]


def test_to_255_rejects_float_images_on_the_0_255_scale():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.to_255(np.full((2, 16, 16, 3), 200.0, np.float32))


def test_l1_l2_psnr_by_hand():
    target = np.zeros((2, 16, 16, 3), np.uint8)
    prediction = target.copy()
    prediction[0] = 10  # every pixel-channel off by 10
    prediction[1, 3, 4, 2] = 255  # one pixel-channel off by 255
    values = metrics.image_metrics(prediction, target)
    n = 16 * 16 * 3
    np.testing.assert_allclose(values["l1"], [10.0, 255.0 / n])
    np.testing.assert_allclose(values["mse"], [100.0, 255.0**2 / n])
    np.testing.assert_allclose(metrics.l2_distance(prediction, target).numpy(), values["mse"])
    np.testing.assert_allclose(values["psnr"], [10 * np.log10(255.0**2 / 100.0), 10 * np.log10(n)])


def test_metrics_accept_floats_in_unit_range_like_uint8():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 256, (2, 24, 24, 3), dtype=np.uint8)
    prediction = noisy_copy(rng, target, 40)
    as_unit = lambda x: x.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    from_uint8 = metrics.image_metrics(prediction, target)
    from_float = metrics.image_metrics(as_unit(prediction), as_unit(target))
    for name in from_uint8:
        np.testing.assert_allclose(from_float[name], from_uint8[name], rtol=1e-12, err_msg=name)


def test_identical_images_give_inf_psnr_and_a_capped_mean():
    rng = np.random.default_rng(2)
    target = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    prediction = target.copy()
    prediction[2] = noisy_copy(rng, target[2:], 20)[0]
    psnr = metrics.psnr(prediction, target).numpy()
    assert np.isinf(psnr[:2]).all() and np.isfinite(psnr[2])
    assert metrics.ssim(target, target).numpy() == pytest.approx([1.0] * 3)

    totals = metrics.MetricTotals()
    totals.update(prediction[:2], target[:2])
    totals.update(prediction[2:], target[2:])
    summary = totals.summary()
    assert summary["images"] == 3 and summary["psnr_identical"] == 2
    assert summary["psnr"] == pytest.approx((2 * metrics.PSNR_CAP_DB + psnr[2]) / 3)
    assert metrics.mean_psnr([np.inf, np.inf]) == metrics.PSNR_CAP_DB


@pytest.mark.parametrize("shape", [(3, 32, 32, 3), (2, 48, 64, 3), (1, 11, 11, 3)])
def test_psnr_ssim_match_skimage_on_random_images(shape):
    rng = np.random.default_rng(sum(shape))
    target = rng.integers(0, 256, shape, dtype=np.uint8)
    prediction = noisy_copy(rng, target, 60)
    psnr, ssim = metrics.psnr(prediction, target).numpy(), metrics.ssim(prediction, target).numpy()
    for i in range(shape[0]):
        assert psnr[i] == pytest.approx(skimage_psnr(prediction[i], target[i]), abs=PSNR_TOLERANCE_DB)
        assert ssim[i] == pytest.approx(skimage_ssim(prediction[i], target[i]), abs=SSIM_TOLERANCE)


def test_psnr_ssim_match_skimage_on_real_pairs(real_pairs):
    files = list_images(real_pairs)[:4]
    pairs = [read_pair(path) for path in files]
    for sketch, color in pairs:
        # sketch vs color (a bad colorization), and a blurred color (a plausible one)
        blurred = (
            tf.nn.avg_pool2d(tf.cast(color[None], tf.float32), 3, 1, "SAME")[0]
            .numpy()
            .round()
            .astype(np.uint8)
        )
        for prediction in (sketch, blurred):
            values = metrics.image_metrics(prediction, color)
            assert values["psnr"][0] == pytest.approx(skimage_psnr(prediction, color), abs=PSNR_TOLERANCE_DB)
            assert values["ssim"][0] == pytest.approx(skimage_ssim(prediction, color), abs=SSIM_TOLERANCE)
            difference = prediction.astype(np.float64) - color
            assert values["l1"][0] == pytest.approx(np.abs(difference).mean(), rel=1e-6)
            assert values["mse"][0] == pytest.approx(np.square(difference).mean(), rel=1e-12)


# --- FID --------------------------------------------------------------------------------------


def reference_fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID by another route: Tr sqrt(S1 S2) from the eigenvalues of sqrt(S1) S2 sqrt(S1) (numpy only)."""
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a.T), np.cov(features_b.T)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(inner, 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def correlated_gaussian(rng, n: int, mean: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    """n samples of N(mean, mixing mixing^T)."""
    return mean + rng.normal(size=(n, len(mean))) @ mixing.T


def test_fid_matches_an_independent_computation():
    rng = np.random.default_rng(3)
    d = 16
    a = correlated_gaussian(rng, 600, rng.normal(size=d), rng.normal(size=(d, d)) / 2)
    b = correlated_gaussian(rng, 500, rng.normal(size=d) + 0.5, rng.normal(size=(d, d)) / 3)
    with pytest.warns(metrics.FIDSampleSizeWarning):
        fid = metrics.fid_from_features(a, b)
    assert fid == pytest.approx(reference_fid(a, b), rel=1e-8)
    assert fid > 1.0


def test_fid_of_gaussians_with_diagonal_covariances_is_analytic():
    rng = np.random.default_rng(4)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    var1, var2 = rng.uniform(0.2, 3.0, 6), rng.uniform(0.2, 3.0, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(
        expected, rel=1e-10
    )
    # and from samples of those Gaussians (sampling error only)
    a = mu1 + rng.normal(size=(40000, 6)) * np.sqrt(var1)
    b = mu2 + rng.normal(size=(40000, 6)) * np.sqrt(var2)
    assert metrics.fid_from_features(a, b) == pytest.approx(expected, rel=0.03)


def test_fid_warns_below_the_recommended_sample_count():
    rng = np.random.default_rng(10)
    with pytest.warns(metrics.FIDSampleSizeWarning, match="FID on 50 images"):
        assert np.isfinite(metrics.fid_from_features(rng.normal(size=(50, 4)), rng.normal(size=(60, 4))))


def test_fid_of_a_set_with_itself_is_zero_and_flat_sets_are_handled():
    rng = np.random.default_rng(5)
    a = correlated_gaussian(rng, 3000, rng.normal(size=8), rng.normal(size=(8, 8)))
    assert abs(metrics.fid_from_features(a, a)) < 1e-6
    # A flat set (one image repeated: the mean-color baseline) has zero covariance.
    mu, sigma = metrics.feature_statistics(a)
    flat = np.zeros_like(sigma)
    assert metrics.frechet_distance(mu + 1.0, flat, mu, sigma) == pytest.approx(
        8.0 + np.trace(sigma), rel=1e-6
    )


# --- KID --------------------------------------------------------------------------------------


def test_polynomial_mmd_matches_its_definition():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) + 0.3
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    m = 5
    within_x = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert metrics.polynomial_mmd2_unbiased(x, y) == pytest.approx(
        within_x + within_y - 2 * across, rel=1e-12
    )


def test_kid_subsets_via_full_kernels_equal_subsets_from_scratch(monkeypatch):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(300, 10)), rng.normal(size=(250, 10)) + 0.2
    fast = metrics.kid_from_features(a, b, subsets=10, subset_size=100)
    monkeypatch.setattr(metrics, "KID_FULL_KERNEL_LIMIT", 0)
    slow = metrics.kid_from_features(a, b, subsets=10, subset_size=100)
    np.testing.assert_allclose(fast, slow, rtol=1e-10)


def test_kid_is_near_zero_for_the_same_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    same_set, _ = metrics.kid_from_features(a, a)
    same_distribution, spread = metrics.kid_from_features(a, b)
    shifted, _ = metrics.kid_from_features(a, b + 0.5)
    assert shifted > 0.05
    # Not exactly 0: a set against itself is not two independent samples (~ -2 k(x, x) / m here).
    assert abs(same_set) < 0.05 * shifted
    assert abs(same_distribution) < 0.05 * shifted and spread < 0.05 * shifted


# --- InceptionV3 features -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_inception():
    """The feature extractor with random weights, built once (23M parameters)."""
    extractor = metrics.InceptionFeatureExtractor(weights=None, batch_size=1)  # calls run in chunks
    extractor.model  # noqa: B018
    return extractor


def tiny_images(count: int = 3, size: int = 32) -> np.ndarray:
    """A few small structured uint8 images."""
    rng = np.random.default_rng(9)
    coarse = rng.integers(0, 256, (count, 4, 4, 3), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, size // 4, axis=1), size // 4, axis=2)


def test_inception_input_protocol():
    images = tiny_images()
    prepared = metrics.prepare_inception_input(images).numpy()
    assert prepared.shape == (3, 299, 299, 3) and prepared.dtype == np.float32
    manual = (
        tf.image.resize(images.astype(np.float32), (299, 299), method="bilinear", antialias=True) / 127.5
        - 1.0
    )
    np.testing.assert_allclose(prepared, manual.numpy(), atol=1e-6)
    extremes = metrics.prepare_inception_input(
        np.stack([np.zeros((20, 20, 3), np.uint8), np.full((20, 20, 3), 255, np.uint8)])
    )
    assert np.allclose(extremes[0], -1.0) and np.allclose(extremes[1], 1.0)
    assert metrics.FID_PROTOCOL["resize"] == {
        "size": [299, 299],
        "method": "bilinear",
        "antialias": True,
        "crop": None,
        "function": "tf.image.resize on float32 0..255",
    }


def test_inception_features_follow_the_protocol(random_inception):
    images = tiny_images(2)
    features = random_inception(images)
    assert features.shape == (2, metrics.INCEPTION_FEATURES) and np.isfinite(features).all()
    assert not random_inception.valid_fid
    # the resize + [-1, 1] preprocessing happen inside the (chunked) call ...
    direct = random_inception.model(metrics.prepare_inception_input(images), training=False).numpy()
    np.testing.assert_allclose(features, direct, rtol=1e-4, atol=1e-5)
    # ... and matter: raw 0..255 values at 299 px give other features
    raw = tf.image.resize(images[:1].astype(np.float32), (299, 299))
    assert not np.allclose(random_inception.model(raw, training=False).numpy(), features[:1], rtol=1e-2)
    # [-1, 1] floats are the same images as uint8
    np.testing.assert_allclose(
        random_inception(images.astype(np.float32) / 127.5 - 1.0), features, rtol=1e-5, atol=1e-6
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras' legacy h5 reader, not ours
def test_weights_file_in_the_keras_cache_is_loaded_without_keras_fetching_it(random_inception, tmp_path):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    # A file in the format of Keras' ImageNet download (legacy h5, by layer), with our random weights.
    with h5py.File(tmp_path / metrics.INCEPTION_WEIGHTS_FILE, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, random_inception.model)
    loaded = metrics.InceptionFeatureExtractor("imagenet", cache_dir=tmp_path, batch_size=2)
    assert loaded.weights_path == tmp_path / metrics.INCEPTION_WEIGHTS_FILE and loaded.valid_fid
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")  # as inside a mixed-precision training run
    try:
        assert loaded.model.dtype_policy.name == "float32"
    finally:
        keras.config.set_dtype_policy(previous)
    images = tiny_images(2)
    np.testing.assert_allclose(loaded(images), random_inception(images), rtol=1e-4, atol=1e-5)


def test_an_unreadable_weights_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not an HDF5 file")
    extractor = metrics.InceptionFeatureExtractor(broken)
    with pytest.raises(PretrainedWeightsUnavailable, match="cannot load InceptionV3"):
        extractor.model  # noqa: B018


def test_missing_weights_give_a_clear_error_before_any_image_is_read(tmp_path):
    # Offline (conftest's dead proxy): the download is tried and fails as one line.
    with pytest.raises(PretrainedWeightsUnavailable) as caught:
        metrics.InceptionFeatureExtractor("imagenet", cache_dir=tmp_path)
    message = str(caught.value)
    assert str(tmp_path / metrics.INCEPTION_WEIGHTS_FILE) in message
    assert "--inception-weights" in message and metrics.INCEPTION_WEIGHTS_URL in message
    with pytest.raises(PretrainedWeightsUnavailable, match="not found"):
        metrics.InceptionFeatureExtractor(tmp_path / "nope.h5")


def test_offline_evaluate_stops_with_one_line_naming_the_file_and_the_ways_out(tmp_path):
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "empty_keras_home"), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "sketch2color.evaluate", "--model", str(tmp_path), "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    wanted = ("empty_keras_home", metrics.INCEPTION_WEIGHTS_FILE, "--inception-weights", "--no-fid")
    assert all(word in errors[0] for word in wanted), errors[0]
