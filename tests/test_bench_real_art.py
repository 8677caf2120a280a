"""The real-art benchmark's interactive scoring: the palette sweep hands models real palettes."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from sketch2color.config import DataConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_real_art  # noqa: E402

SIZE = 32
COLORS = [(220, 40, 40), (40, 200, 60), (30, 60, 210), (230, 210, 40)]


def flat_pair_files(folder: Path) -> list[Path]:
    """Pairs whose color half is one flat color each (and whose sketch half is white)."""
    files = []
    for index, color in enumerate(COLORS):
        pair = np.full((SIZE, 2 * SIZE, 3), 255, np.uint8)
        pair[:, :SIZE] = color
        path = folder / f"pair_{index}.png"
        Image.fromarray(pair).save(path)
        files.append(path)
    return files


def test_the_true_palette_scores_above_another_images(tmp_path):
    # A model that paints the image in its palette's first color: with each target's own
    # palette it is exact; with the next image's it is wrong everywhere.
    model = SimpleNamespace(
        uses_hints=False,
        palette_colors=3,
        predict=lambda sketches, palette: np.broadcast_to(palette[:, :1, None, :], sketches.shape).copy(),
    )
    args = SimpleNamespace(seed=0, interactive_images=len(COLORS), image_size=SIZE, eval_batch_size=4)
    scores = bench_real_art.interactive_scores(model, flat_pair_files(tmp_path), DataConfig(), args)
    assert scores["true_palette"] > 60  # exact up to K-means rounding: PSNR of identical images is capped
    assert scores["other_palette"] < 15
    palettes = bench_real_art.target_palettes(np.array([[[COLORS[2]]]], np.uint8), 3)
    assert palettes.dtype == np.uint8 and palettes[0, 0].tolist() == list(COLORS[2])


def test_the_gray_baseline_outputs_each_targets_own_gray(tmp_path):
    # convnet-l2 is given the target's gray, so its trivial baseline is that gray as the output:
    # for flat colors, the squared error is exactly each color's distance from its luminance.
    args = SimpleNamespace(image_size=SIZE, eval_batch_size=4)
    scores = bench_real_art.gray_target_baseline(flat_pair_files(tmp_path), DataConfig(), args)
    colors = np.array(COLORS, np.float64)
    luminance = np.round(colors @ [0.299, 0.587, 0.114])[:, None]
    mse = ((colors - luminance) ** 2).mean(axis=1)
    expected_psnr = np.mean(10 * np.log10(255.0**2 / mse))
    assert abs(scores["psnr"] - expected_psnr) < 0.05, (scores["psnr"], expected_psnr)
    assert abs(scores["l1"] - np.abs(colors - luminance).mean()) < 0.5


def test_a_json_setting_with_commas_stays_one_preset():
    text = 'pix2pix, pix2pix+generator_kwargs={"base_filters":32,"hint_spread":[2,8]}+hints=true,sgru'
    specs = bench_real_art.split_presets(text)
    assert specs[0] == "pix2pix" and specs[2] == "sgru" and len(specs) == 3
    name, overrides = bench_real_art.parse_variant(specs[1])
    assert name == "pix2pix"
    assert overrides == {"generator_kwargs": {"base_filters": 32, "hint_spread": [2, 8]}, "hints": True}
