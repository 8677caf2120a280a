"""python -m sketch2color.evaluate on a tiny exported U-Net and tiny pair folders, for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from sketch2color.cli.evaluate import main
from sketch2color.config import RunConfig, save_json
from sketch2color.data import list_images, read_pair, resize_uint8
from sketch2color.evaluation.report import ENTRIES
from sketch2color.export import export_generator
from sketch2color.models import build_generator

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 32


@pytest.fixture(scope="module")
def tiny_generator():
    """A narrow 32 px U-Net (untrained: the numbers only need to be valid, not good)."""
    return build_generator("unet", image_size=SIZE, base_filters=8)


@pytest.fixture(scope="module")
def exported(tiny_generator, tmp_path_factory) -> Path:
    """The tiny U-Net exported like a finished training run."""
    return export_generator(tiny_generator, tmp_path_factory.mktemp("export"), SIZE)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The evaluate command in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "sketch2color.evaluate", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )


def resized_pairs(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(sketches, colors) of every pair in folder at SIZE, resized like the pipeline does."""
    pairs = [read_pair(path) for path in list_images(folder)]
    resize = lambda image: resize_uint8(tf.constant(image), SIZE).numpy()  # noqa: E731
    return np.stack([resize(s) for s, _ in pairs]), np.stack([resize(c) for _, c in pairs])


def test_cli_on_an_exported_model(exported, pair_folder, tmp_path):
    out = tmp_path / "report"
    result = run_cli(
        "--model",
        str(exported),
        "--data",
        str(pair_folder),
        "--split",
        "all",
        "--no-fid",
        "--batch-size",
        "5",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["images"] == 12 and report["data"]["image_size"] == SIZE
    assert report["model"]["source"] == "export" and report["protocol"]["fid"] is None
    assert set(report["metrics"]) == set(ENTRIES)
    for name, values in report["metrics"].items():
        assert values["images"] == 12, name
        assert 0 < values["psnr"] <= 100 and -1 <= values["ssim"] <= 1, name
        assert (
            0 <= values["l1"] <= 255 and 0 <= values["l2"] <= 255**2 and values["l1"] ** 2 <= values["l2"]
        ), name

    # The baselines, recomputed with numpy from the files, agree with the report.
    sketches, colors = resized_pairs(pair_folder)
    mean_color = np.round(colors.reshape(-1, 3).mean(axis=0))
    assert report["mean_color"] == mean_color.tolist()
    sketch_difference = sketches.astype(np.float64) - colors
    assert report["metrics"]["baseline_sketch"]["l1"] == pytest.approx(
        np.abs(sketch_difference).mean(), rel=1e-6
    )
    assert report["metrics"]["baseline_sketch"]["l2"] == pytest.approx(
        np.square(sketch_difference).mean(), rel=1e-9
    )
    flat_difference = mean_color - colors.astype(np.float64)
    assert report["metrics"]["baseline_mean_color"]["l1"] == pytest.approx(
        np.abs(flat_difference).mean(), rel=1e-6
    )

    markdown = (out / "report.md").read_text()
    assert "| PSNR (dB) ↑ | SSIM ↑ | L1 ↓ | L2 (MSE) ↓ |" in markdown
    assert (
        "| model |" in markdown
        and "baseline: sketch (model input) as output" in markdown
        and "baseline: flat mean color" in markdown
    )
    assert (out / "samples.png").stat().st_size > 0


def test_bad_model_path_is_a_clear_error_with_exit_code_2(tmp_path):
    result = run_cli("--model", str(tmp_path / "no_such_run"), "--no-fid")
    assert result.returncode == 2
    assert "error:" in result.stderr and "no_such_run" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_directory_without_export_uses_its_latest_checkpoint(
    tiny_generator, pair_folder, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    config = RunConfig(run_dir=str(run_dir))
    config.data.data_dir, config.data.image_size = str(pair_folder), SIZE
    config.model.generator_kwargs = {"base_filters": 8}
    run_dir.mkdir()
    save_json(config, run_dir / "config.json")
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(generator=tiny_generator), str(run_dir / "checkpoints"), 1
    )
    manager.save()

    assert (
        main(["--model", str(run_dir), "--split", "all", "--no-fid"]) == 0
    )  # data and size from config.json
    report = json.loads((run_dir / "evaluation-all" / "report.json").read_text())
    assert report["model"]["source"] == "checkpoint" and report["data"]["image_size"] == SIZE
    # The restored generator is the one we saved: same outputs as running it directly.
    sketches, colors = resized_pairs(pair_folder)
    direct = tiny_generator(sketches.astype(np.float32) / 127.5 - 1.0, training=False).numpy()
    direct = np.clip(np.round((direct + 1.0) * 127.5), 0, 255)
    assert report["metrics"]["model"]["l1"] == pytest.approx(np.abs(direct - colors).mean(), abs=0.05)
    assert "| model |" in capsys.readouterr().out


class StubExtractor:
    """Stands in for InceptionV3 (which costs ~30 s of sqrtm at 2048-d): per-channel mean and std."""

    weights, valid_fid, model = "stub", False, None

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, images) -> np.ndarray:
        x = np.asarray(images, np.float64)
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


@pytest.mark.filterwarnings("ignore::sketch2color.evaluation.metrics.FIDSampleSizeWarning")
def test_fid_and_kid_for_the_model_and_both_baselines(exported, pair_folder, tmp_path, monkeypatch):
    import sketch2color.evaluation.metrics

    monkeypatch.setattr(sketch2color.evaluation.metrics, "InceptionFeatureExtractor", StubExtractor)
    out = tmp_path / "with_fid"
    assert (
        main(["--model", str(exported), "--data", str(pair_folder), "--split", "all", "--out", str(out)]) == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert (
        report["protocol"]["fid"]["name"] == "sketch2color-fid-v1"
        and report["protocol"]["fid"]["valid"] is False
    )
    for name in ENTRIES:
        assert report["metrics"][name]["fid"] > 0 and report["metrics"][name]["kid"] is not None, name
    # The flat baseline's features are one vector repeated: FID = |mu_flat - mu_real|^2 + Tr(S_real).
    sketches, colors = resized_pairs(pair_folder)
    real = StubExtractor()(colors)
    flat = StubExtractor()(np.broadcast_to(np.array(report["mean_color"], np.uint8), (1, SIZE, SIZE, 3)))[0]
    expected = np.sum((flat - real.mean(0)) ** 2) + np.trace(np.cov(real.T))
    assert report["metrics"]["baseline_mean_color"]["fid"] == pytest.approx(expected, rel=1e-6)
    markdown = (out / "report.md").read_text()
    assert "FID ↓ | KID ×1000 ↓ |" in markdown and "NOT meaningful" in markdown


def test_conditioned_export_gets_palette_and_hints_made_like_validation(pair_folder, tmp_path):
    from sketch2color.data.conditioning import ConditioningSpec, input_channels

    spec = ConditioningSpec(palette=True, hints=True)
    generator = build_generator("unet", image_size=SIZE, base_filters=8, input_channels=input_channels(spec))
    export_dir = export_generator(generator, tmp_path / "conditioned", SIZE, spec)
    out = tmp_path / "report"
    assert (
        main(
            [
                "--model",
                str(export_dir),
                "--data",
                str(pair_folder),
                "--split",
                "all",
                "--no-fid",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert "palette" in report["data"]["conditioning"] and "hints" in report["data"]["conditioning"]
    assert report["metrics"]["model"]["images"] == 12 and 0 < report["metrics"]["model"]["psnr"] <= 100
    # the sketch baseline is the 3-channel base input, not the 34-channel model input
    sketches, colors = resized_pairs(pair_folder)
    expected = np.abs(sketches.astype(np.float64) - colors).mean()
    assert report["metrics"]["baseline_sketch"]["l1"] == pytest.approx(expected, rel=1e-6)
    assert "Conditioning: palette" in (out / "report.md").read_text()
