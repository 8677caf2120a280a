"""A corpus of hostile files through the entry points that read pair folders.

Each entry point must end with a short message naming every bad file and its problem, the right
exit code, and no traceback; the good file beside them is still used.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import gray_of, smooth_color_image
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SIZE = 32


def pair_array(seed: int) -> np.ndarray:
    color = smooth_color_image(np.random.default_rng(seed), SIZE)
    return np.concatenate([color, gray_of(color)], axis=1)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def cut_and_resealed(jpeg: bytes) -> bytes:
    """The first half of a JPEG and an end marker: TensorFlow and Pillow decode it without a word."""
    return jpeg[: len(jpeg) // 2] + b"\xff\xd9"


def chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def hostile_folder(folder: Path) -> dict[str, str]:
    """Write one good pair and the hostile files; returns {file name: words its problem must contain}."""
    folder.mkdir(parents=True)
    good = png_bytes(pair_array(0))
    (folder / "good.png").write_bytes(good)
    idat = good.index(b"IDAT")
    garbled = bytearray(good)
    garbled[idat + 30 : idat + 60] = bytes(30)
    files = {
        "zero.png": (b"", "zero-byte"),
        "half.png": (good[: len(good) // 2], "truncated"),
        "text.png": (b"hello, this is a text file\n" * 20, "not an image"),
        "random.png": (os.urandom(2048), "not an image"),
        "square.png": (png_bytes(pair_array(1)[:, :SIZE]), "width = 2 x height"),
        "gif_named.png": (None, "unsupported image format GIF"),
        "garbled_data.png": (bytes(garbled), "corrupt or truncated"),
        "signature_only.png": (b"\x89PNG\r\n\x1a\n", "not an image"),
        "cut.jpg": (jpeg_bytes(pair_array(2))[:400], "truncated"),
        "header_only.jpg": (jpeg_bytes(pair_array(3))[:120], "truncated"),
        "resealed.jpg": (cut_and_resealed(jpeg_bytes(pair_array(7))), "truncated JPEG"),
        "huge.png": (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 50_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""),
            "too large",
        ),
        "palette.bmp": (None, "palette BMP"),
        "one_bit.bmp": (None, "1-bit BMP"),
    }
    problems = {}
    for name, (data, words) in files.items():
        if data is not None:
            (folder / name).write_bytes(data)
        problems[name] = words
    Image.fromarray(pair_array(4)).save(folder / "gif_named.png", format="GIF")
    Image.fromarray(pair_array(5)).convert("P").save(folder / "palette.bmp")
    Image.fromarray(pair_array(6)).convert("1").save(folder / "one_bit.bmp")
    return problems


def run(script: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="2", SKETCH2COLOR_CACHE=str(cwd / "cache"), PYTHONPATH=str(REPO)
    )
    return subprocess.run(
        [sys.executable, *script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def assert_every_problem_named(output: str, problems: dict[str, str]) -> None:
    for name, words in problems.items():
        lines = [line for line in output.splitlines() if name in line]
        assert lines, f"{name} not named in:\n{output[-3000:]}"
        assert any(words in line for line in lines), f"{name}: {words!r} not in {lines}"


def test_verify_dataset_names_every_hostile_file(tmp_path):
    problems = hostile_folder(tmp_path / "pairs")
    result = run(
        [str(REPO / "data_scripts" / "verify_dataset.py"), str(tmp_path / "pairs"), "--preview", ""], tmp_path
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert_every_problem_named(result.stdout, problems)
    assert result.stdout.count("  bad: ") == len(problems), (
        result.stdout
    )  # one line each, the good pair not among them


@pytest.mark.slow
def test_train_stops_naming_them_and_skip_bad_trains_on_the_good_pair(tmp_path):
    problems = hostile_folder(tmp_path / "pairs")
    common = [
        "-m",
        "sketch2color.train",
        "--data",
        str(tmp_path / "pairs"),
        "--image-size",
        str(SIZE),
        "--batch-size",
        "1",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--val-fraction",
        "0",
        "--metrics-images",
        "0",
        "--fid-every",
        "0",
        "--no-export",
        "--bn-recalibration-batches",
        "0",
    ]
    stopped = run([*common, "--run-dir", "runs/strict"], tmp_path)
    assert stopped.returncode == 2 and "Traceback" not in stopped.stderr, stopped.stderr[-3000:]
    assert f"{len(problems)} bad pair file(s)" in stopped.stderr
    first_ten = dict(list(problems.items())[:10])  # the message lists ten and counts the rest
    shown = [name for name in problems if name in stopped.stderr]
    assert len(shown) >= len(first_ten), stopped.stderr[-3000:]
    skipped = run([*common, "--run-dir", "runs/skip", "--skip-bad"], tmp_path)
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    assert "Traceback" not in skipped.stderr
    assert_every_problem_named(skipped.stderr, problems)


@pytest.mark.slow
def test_make_pairs_skips_and_names_them(tmp_path):
    problems = hostile_folder(tmp_path / "art")
    for name in ("square.png", "palette.bmp", "one_bit.bmp", "gif_named.png"):
        problems.pop(name)  # color art of any aspect and mode is fine for make_pairs
    result = run(
        [
            str(REPO / "data_scripts" / "make_pairs.py"),
            str(tmp_path / "art"),
            str(tmp_path / "out"),
            "--size",
            str(SIZE),
            "--skip-bad",
            "--quiet",
        ],
        tmp_path,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    for name in problems:
        assert name in result.stdout, f"{name} not named:\n{result.stdout[-3000:]}"
