"""Pair-file checks judged by decoding: damage past the header, JPEG ends, palette BMPs, huge headers,
remembered verdicts, and a file that breaks after its check stopping training by name."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import gray_of, smooth_color_image, write_pair
from PIL import Image

from sketch2color.config import RunConfig
from sketch2color.data import files
from sketch2color.data.files import DatasetError, check_pair_file, read_image_rgb, scan_pair_files


def pair_image(seed: int = 0, size: int = 32) -> np.ndarray:
    color = smooth_color_image(np.random.default_rng(seed), size)
    return np.concatenate([color, gray_of(color)], axis=1)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def test_a_png_damaged_past_its_header_is_refused(tmp_path):
    path = write_pair(tmp_path / "pair.png", *np.split(pair_image(), 2, axis=1))
    raw = bytearray(path.read_bytes())
    start = raw.index(b"IDAT") + 40
    raw[start : start + 16] = bytes(16)  # image data garbled, header intact
    path.write_bytes(bytes(raw))
    problem = check_pair_file(path)
    assert problem is not None and "corrupt or truncated" in problem


def test_jpeg_completeness_is_judged_by_decoding(tmp_path):
    whole = tmp_path / "whole.jpg"
    Image.fromarray(pair_image(1, 64)).save(whole, quality=90)
    data = whole.read_bytes()
    trailing = tmp_path / "trailing.jpg"  # a complete JPEG followed by 4 KB of other bytes
    trailing.write_bytes(data + os.urandom(4096))
    cut = tmp_path / "cut.jpg"  # the end marker is missing and so is the second half of the data
    cut.write_bytes(data[: len(data) // 2])
    assert check_pair_file(whole) is None
    assert check_pair_file(trailing) is None  # was refused as "truncated" by the end-marker rule
    problem = check_pair_file(cut)
    assert problem is not None and "truncated JPEG" in problem
    # Cut mid-data with an end marker appended: Pillow and TensorFlow decode it (gray-filled), silently.
    resealed = tmp_path / "resealed.jpg"
    resealed.write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    assert tf.io.decode_jpeg(resealed.read_bytes()).shape[0] == 64  # why a decode alone is not enough
    problem = check_pair_file(resealed)
    assert problem is not None and "truncated JPEG" in problem


@pytest.mark.parametrize("mode", ["P", "1"])
def test_bmps_tensorflow_would_decode_without_their_colors_are_refused_for_training(tmp_path, mode):
    path = tmp_path / f"pair_{mode}.bmp"
    Image.fromarray(pair_image(2)).convert(mode).save(path)
    problem = check_pair_file(path)
    assert problem is not None and "BMP" in problem and "PNG" in problem
    # Colorize reads images with Pillow, which gives the palette's true colors.
    expected = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(read_image_rgb(path), expected)


def test_an_image_too_large_is_refused_from_its_header(tmp_path):
    header = struct.pack(">IIBBBBB", 100_000, 50_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    problem = check_pair_file(path)
    assert problem is not None and "too large" in problem and "5,000,000,000 pixels" in problem
    with pytest.raises(DatasetError, match="bomb.png: image too large"):
        read_image_rgb(path)
    small_limit = files.check_pair_file(
        write_pair(tmp_path / "ok.png", *np.split(pair_image(), 2, axis=1)), 100
    )
    assert small_limit is not None and "--max-image-pixels" in small_limit


def test_verdicts_are_remembered_until_the_file_changes(tmp_path, monkeypatch):
    folder = tmp_path / "pairs"
    folder.mkdir()
    paths = [write_pair(folder / f"p{i}.png", *np.split(pair_image(i), 2, axis=1)) for i in range(4)]
    verdicts = tmp_path / "verdicts.json"
    checked = []
    real_check = files.check_pair_file
    monkeypatch.setattr(
        files,
        "check_pair_file",
        lambda path, max_pixels: checked.append(path) or real_check(path, max_pixels),
    )
    assert scan_pair_files(paths, verdicts=verdicts)[0] == paths
    assert sorted(checked) == sorted(paths)
    checked.clear()
    assert scan_pair_files(paths, verdicts=verdicts)[0] == paths
    assert checked == []  # nothing decoded a second time
    paths[1].write_bytes(b"")  # changed: checked again, and now bad
    good, bad = scan_pair_files(paths, skip_bad=True, verdicts=verdicts)
    assert checked == [paths[1]] and [b.path for b in bad] == [paths[1]] and len(good) == 3


def corrupt_in_place(path: Path) -> None:
    """Garble a PNG's image data keeping its size and modification time (its remembered verdict stays)."""
    stat = path.stat()
    raw = bytearray(path.read_bytes())
    start = raw.index(b"IDAT") + 20
    raw[start : start + 32] = bytes(32)
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.slow
def test_a_file_that_breaks_after_its_check_stops_training_with_a_checkpoint(tmp_path, monkeypatch):
    from sketch2color.runs import latest_checkpoint
    from sketch2color.training import train

    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    for split, count in (("train", 6), ("val", 2)):
        (data / split).mkdir(parents=True)
        for i in range(count):
            write_pair(data / split / f"{i}.png", *np.split(pair_image(10 * i + len(split)), 2, axis=1))

    def config(run: str, epochs: int, skip_bad: bool = False) -> RunConfig:
        run_config = RunConfig(run_dir=str(tmp_path / run))
        run_config.data.data_dir, run_config.data.image_size, run_config.data.batch_size = str(data), 32, 2
        run_config.data.cache, run_config.data.skip_bad = "none", skip_bad  # decode every epoch
        run_config.train.epochs, run_config.train.steps_per_epoch = epochs, 3
        run_config.train.metrics_images = 0
        run_config.train.fid_every = 0
        run_config.train.export = False
        run_config.train.bn_recalibration_batches = 0
        return run_config

    train(config("first", 1), verbose=0)  # every file checked and remembered as good
    corrupt_in_place(data / "train" / "3.png")
    with pytest.raises(DatasetError, match="failed to decode during training") as error:
        train(config("first", 2), explicit={("train", "epochs")}, verbose=0)
    assert "verify_dataset.py" in str(error.value) and "--skip-bad" in str(error.value)
    assert latest_checkpoint(tmp_path / "first") is not None
    # With --skip-bad the broken file is left out and the run finishes.
    result = train(config("second", 1, skip_bad=True), verbose=0)
    assert result.step == 3


def test_a_file_name_that_is_not_utf8_is_a_bad_file_not_a_crash(tmp_path):
    name = os.fsdecode(b"pair_\xff.png")  # a Latin-1 name on a UTF-8 system: surrogate escapes
    path = write_pair(tmp_path / name, *np.split(pair_image(), 2, axis=1))
    problem = check_pair_file(path)
    assert problem is not None and "not valid UTF-8" in problem
    good, bad = scan_pair_files([path], skip_bad=True)
    assert good == [] and bad[0].path == path


def test_files_the_pipeline_cannot_read_are_named_when_left_out(tmp_path, caplog):
    write_pair(tmp_path / "good.png", *np.split(pair_image(), 2, axis=1))
    Image.fromarray(pair_image(1)).save(tmp_path / "art.webp")
    Image.fromarray(pair_image(2)).save(tmp_path / "anim.gif")
    (tmp_path / "folder.png").mkdir()
    with caplog.at_level("WARNING", logger="sketch2color.data.files"):
        listed = files.list_images(tmp_path)
    assert [p.name for p in listed] == ["good.png"]
    message = " ".join(record.getMessage() for record in caplog.records)
    assert "left out 3 entries" in message and all(
        name in message for name in ("art.webp", "anim.gif", "folder.png")
    )


def test_a_cache_path_that_is_a_file_is_refused(tmp_path):
    from sketch2color.config import ConfigError, DataConfig

    a_file = tmp_path / "cache_file"
    a_file.write_text("")
    with pytest.raises(ConfigError, match="cache_file: exists and is a file"):
        DataConfig(cache=str(a_file)).validate()
