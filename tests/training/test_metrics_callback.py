"""MetricsCallback driven like keras.Model.fit drives it (CallbackList + a real CSVLogger), without fit."""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import gray_of, smooth_color_image

from sketch2color.evaluation import metrics
from sketch2color.models import build_generator
from sketch2color.runs import read_history
from sketch2color.training.callbacks import MetricsCallback
from sketch2color.training.plots import PROGRESSION_DIR, load_progression, metric_history, pick_columns

SIZE = 32


def unit(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def colors() -> np.ndarray:
    """Six structured uint8 color images at 32 px."""
    rng = np.random.default_rng(0)
    return np.stack([smooth_color_image(rng, SIZE) for _ in range(6)])


def pair_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int = 4) -> tf.data.Dataset:
    """(input, target) batches in [-1, 1], unshuffled, like the validation pipeline."""
    return tf.data.Dataset.from_tensor_slices((unit(inputs), unit(targets))).batch(batch_size)


def identity_model() -> keras.Model:
    """A 'perfect generator' for color -> color data."""
    inputs = keras.Input((None, None, 3))
    return keras.Model(inputs, keras.layers.Activation("linear")(inputs))


def mean_std_features(images) -> np.ndarray:
    """A cheap stand-in for Inception: per-channel mean and std of each image (6-d)."""
    x = metrics.to_255(images).numpy()
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


class LogsRecorder(keras.callbacks.Callback):
    """Keeps a copy of the logs every later callback (CSVLogger, TensorBoard) sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(dict(logs))


def run_epochs(callback: MetricsCallback, model: keras.Model, run_dir, epochs) -> list[dict]:
    """Call on_epoch_end like fit does: MetricsCallback first, then a CSVLogger (append=True)."""
    logger = keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True)
    recorder = LogsRecorder()
    callbacks = keras.callbacks.CallbackList([callback, logger, recorder], model=model)
    callbacks.on_train_begin()
    for epoch in epochs:
        callbacks.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    callbacks.on_train_end()
    return recorder.seen


def test_perfect_generator_scores_capped_psnr_ssim_one_and_zero_l1(colors, tmp_path):
    callback = MetricsCallback(identity_model(), pair_dataset(colors, colors), tmp_path, every_fid=0)
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs["val_psnr"] == metrics.PSNR_CAP_DB  # every image identical: inf, capped when averaged
    assert logs["val_ssim"] == pytest.approx(1.0, abs=1e-12)
    assert logs["val_l1"] == 0.0
    assert "val_fid" not in logs


def test_metrics_match_a_direct_computation_and_max_images(colors, tmp_path):
    sketches = np.stack([gray_of(c) for c in colors])
    generator = build_generator("unet", image_size=SIZE, base_filters=8)
    callback = MetricsCallback(generator, pair_dataset(sketches, colors), tmp_path, every_fid=0, max_images=5)
    values, _ = callback.evaluate()
    predictions = generator(unit(sketches[:5]), training=False)
    expected = metrics.image_metrics(predictions, colors[:5])
    assert values["val_psnr"] == pytest.approx(metrics.mean_psnr(expected["psnr"]))
    assert values["val_ssim"] == pytest.approx(expected["ssim"].mean())
    assert values["val_l1"] == pytest.approx(expected["l1"].mean())
    assert sum(int(s.shape[0]) for s, _ in callback._batches()) == 5


@pytest.mark.filterwarnings("ignore::sketch2color.evaluation.metrics.FIDSampleSizeWarning")
def test_epochs_log_metrics_to_csv_draw_pictures_and_survive_a_resume(colors, tmp_path):
    sketches = np.stack([gray_of(c) for c in colors])
    dataset = pair_dataset(sketches, colors)
    generator = build_generator("unet", image_size=SIZE, base_filters=8)
    make = lambda: MetricsCallback(  # noqa: E731
        generator, dataset, tmp_path, every_fid=2, fid_extractor=mean_std_features, progression_samples=3
    )
    seen = run_epochs(make(), generator, tmp_path, range(3))

    for logs in seen:
        assert 0 < logs["val_psnr"] < 60 and -1 <= logs["val_ssim"] <= 1 and 0 <= logs["val_l1"] <= 255
    # FID/KID on epochs 2, 4, ...; NaN otherwise, so the CSV keeps the same columns
    assert [math.isnan(logs["val_fid"]) for logs in seen] == [True, False, True]
    assert seen[1]["val_fid"] > 0 and np.isfinite(seen[1]["val_kid"])
    history = read_history(tmp_path / "history.csv")
    assert history["epoch"] == [0, 1, 2]
    assert history["val_l1"] == pytest.approx([logs["val_l1"] for logs in seen])
    assert history["val_fid"][1] == pytest.approx(seen[1]["val_fid"])
    assert (tmp_path / "metrics.png").stat().st_size > 0 and (tmp_path / "progression.png").stat().st_size > 0

    # A new callback (a resumed run) continues the progression and the curves.
    resumed = run_epochs(make(), generator, tmp_path, [3])
    assert not math.isnan(resumed[0]["val_fid"])
    sketch_rows, target_rows, by_epoch = load_progression(tmp_path)
    assert sorted(by_epoch) == [1, 2, 3, 4]
    assert sketch_rows.shape == target_rows.shape == by_epoch[4].shape == (3, SIZE, SIZE, 3)
    assert by_epoch[1].dtype == np.uint8
    np.testing.assert_array_equal(target_rows, colors[:3])
    assert len(list((tmp_path / PROGRESSION_DIR).glob("epoch_*.npz"))) == 4
    assert read_history(tmp_path / "history.csv")["epoch"] == [0, 1, 2, 3]


def test_curves_include_the_epoch_not_yet_in_the_csv(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss,val_psnr\n0,1.0,10.0\n1,0.9,11.0\n1,0.8,12.0\n")
    columns = metric_history(tmp_path / "history.csv", current=(2, {"val_psnr": 13.0, "loss": 0.5}))
    assert columns["epoch"].tolist() == [1, 2, 3]  # 1-based; the repeated epoch 1 keeps its last row
    assert columns["val_psnr"].tolist() == [10.0, 12.0, 13.0]


def test_progression_columns_are_subsampled_keeping_first_and_last():
    epochs = list(range(1, 21))
    picked = pick_columns(epochs, 8)
    assert len(picked) == 8 and picked[0] == 1 and picked[-1] == 20 and picked == sorted(set(picked))
    assert pick_columns([1, 2, 3], 8) == [1, 2, 3]


def test_missing_extractor_skips_fid_with_one_log_line(colors, tmp_path, caplog):
    callback = MetricsCallback(
        identity_model(), pair_dataset(colors, colors), tmp_path, every_fid=1, progression_samples=0
    )
    with caplog.at_level(logging.INFO, logger="sketch2color.training.callbacks"):
        for epoch in range(2):
            logs = {}
            callback.on_epoch_end(epoch, logs)
            assert "val_fid" not in logs
    assert sum("FID/KID skipped" in record.message for record in caplog.records) == 1
    assert not (tmp_path / "progression.png").exists()


def test_conditioned_inputs_show_their_base_channels_in_the_progression(colors, tmp_path):
    hints = np.zeros(colors.shape[:3] + (4,), np.float32)  # a hint model's extra planes (no hints)
    inputs = np.concatenate([unit(np.stack([gray_of(c) for c in colors])), hints], axis=-1)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, unit(colors))).batch(4)
    generator = build_generator("unet", image_size=SIZE, base_filters=8, input_channels=7)
    MetricsCallback(generator, dataset, tmp_path, every_fid=0, progression_samples=2).on_epoch_end(0, {})
    sketch_rows, _, by_epoch = load_progression(tmp_path)
    np.testing.assert_array_equal(sketch_rows, np.stack([gray_of(c) for c in colors[:2]]))
    assert by_epoch[1].shape == (2, SIZE, SIZE, 3) and (tmp_path / "progression.png").exists()
