"""The tf.data pair pipeline on real files: shapes, determinism, alignment, bad input."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import gray_of, smooth_color_image, write_pair
from PIL import Image

from sketch2color.config import DataConfig
from sketch2color.data import (
    DatasetError,
    check_pair_file,
    decode_rgb,
    find_pair_files,
    load_datasets,
    make_dataset,
    read_pair,
    split_of,
)

NO_AUGMENT = dict(jitter=False, flip_prob=0.0)


def config_for(folder: Path, **overrides) -> DataConfig:
    """A small-image config reading ``folder``."""
    values = dict(data_dir=str(folder), image_size=32, batch_size=4, seed=7, val_fraction=0.25)
    values.update(overrides)
    return DataConfig(**values)


def batches(dataset: tf.data.Dataset) -> list[np.ndarray]:
    """Every (sketch, color) batch as one numpy array [B, H, W, 6]."""
    return [np.concatenate([s.numpy(), c.numpy()], axis=-1) for s, c in dataset]


# --------------------------------------------------------------------------- batches


def test_batches_have_shape_dtype_and_range(pair_folder):
    splits = load_datasets(config_for(pair_folder))
    sketch, color = next(iter(splits.train))
    assert sketch.shape == (4, 32, 32, 3) and color.shape == (4, 32, 32, 3)
    assert sketch.dtype == tf.float32 and color.dtype == tf.float32
    for tensor in (sketch, color):
        assert float(tf.reduce_min(tensor)) >= -1.0 and float(tf.reduce_max(tensor)) <= 1.0
    assert float(tf.reduce_max(color)) - float(tf.reduce_min(color)) > 0.5  # not all one value
    assert len(splits.train_files) + len(splits.val_files) == 12


def test_pipelines_run_without_tf_data_autotuning(pair_folder):
    """Dropping an iterator early (end of fit, BN recalibration) must not wait for the autotune
    thread (benchmarks/bench_fit_tail.py measures the wait); order stays deterministic."""
    splits = load_datasets(config_for(pair_folder))
    for dataset in (splits.train, splits.val):
        options = dataset.options()
        assert options.autotune.enabled is False and options.deterministic is True


def test_without_augmentation_values_match_the_file(pair_folder):
    config = config_for(pair_folder, image_size=64, **NO_AUGMENT)
    files = sorted(pair_folder.glob("*.png"))[:1]
    sketch, color = next(iter(make_dataset(files, config, training=False)))
    pixels = np.asarray(Image.open(files[0]))
    np.testing.assert_allclose((color[0].numpy() + 1) * 127.5, pixels[:, :64], atol=0.01)
    np.testing.assert_allclose((sketch[0].numpy() + 1) * 127.5, pixels[:, 64:], atol=0.01)


def test_sketch_side_left_swaps_the_halves(pair_folder):
    files = sorted(pair_folder.glob("*.png"))[:1]
    right = next(iter(make_dataset(files, config_for(pair_folder, **NO_AUGMENT), training=False)))
    left = next(
        iter(make_dataset(files, config_for(pair_folder, sketch_side="left", **NO_AUGMENT), training=False))
    )
    np.testing.assert_array_equal(right[0].numpy(), left[1].numpy())
    np.testing.assert_array_equal(right[1].numpy(), left[0].numpy())


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_batches_and_epochs_differ(pair_folder):
    config = config_for(
        pair_folder, affine_prob=0.5, rotation=15, sketch_noise_prob=0.5, color_jitter_prob=0.5
    )
    first = load_datasets(config).train
    second = load_datasets(dataclasses.replace(config)).train
    epoch_a, epoch_b = batches(first), batches(second)
    for a, b in zip(epoch_a, epoch_b):
        np.testing.assert_array_equal(a, b)
    next_epoch = batches(first)
    assert not all(np.array_equal(a, b) for a, b in zip(epoch_a, next_epoch))


def test_different_seed_gives_different_batches(pair_folder):
    a = batches(load_datasets(config_for(pair_folder, seed=1)).train)
    b = batches(load_datasets(config_for(pair_folder, seed=2)).train)
    assert not all(np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- same geometry


@pytest.mark.parametrize(
    "augment",
    [
        dict(jitter=True, flip_prob=0.5),
        dict(jitter=True, flip_prob=0.5, affine_prob=1.0, rotation=25, shear=10, zoom=0.2, shift=0.15),
    ],
    ids=["jitter-flip", "jitter-flip-affine"],
)
def test_both_halves_receive_the_same_geometry(pair_folder, augment):
    """The sketch is the gray of the color, so it must stay the gray of the augmented color."""
    config = config_for(pair_folder, image_size=64, batch_size=12, val_fraction=0.0, **augment)
    sketch, color = next(iter(load_datasets(config).train))
    color_u8 = ((color.numpy() + 1) * 127.5).round().astype(np.uint8)
    derived = gray_of(color_u8.reshape(-1, 64, 3)).reshape(color_u8.shape).astype(np.float32)
    sketch_u8 = (sketch.numpy() + 1) * 127.5
    aligned_error = np.abs(derived - sketch_u8).mean()
    # The same check after moving the sketch one pixel shows what a misalignment would cost.
    shifted_error = np.abs(derived - np.roll(sketch_u8, 1, axis=2)).mean()
    assert aligned_error < 1.5, aligned_error
    assert shifted_error > 4 * aligned_error


def test_augmentation_changes_the_pairs(pair_folder):
    config = config_for(
        pair_folder, image_size=64, batch_size=12, val_fraction=0.0, affine_prob=1.0, rotation=20
    )
    augmented = batches(load_datasets(config).train)[0]
    plain = batches(
        load_datasets(dataclasses.replace(config, jitter=False, flip_prob=0.0, affine_prob=0.0)).train
    )[0]
    assert not np.allclose(augmented, plain, atol=0.05)


# --------------------------------------------------------------------------- layouts


def test_kaggle_layout_nested_one_level(tmp_path):
    rng = np.random.default_rng(1)
    for split, count in (("train", 5), ("val", 2)):
        folder = tmp_path / "data" / split
        folder.mkdir(parents=True)
        for i in range(count):
            color = smooth_color_image(rng, 32)
            write_pair(folder / f"{i}.png", color, gray_of(color))
    files = find_pair_files(tmp_path)
    assert [len(files["train"]), len(files["val"])] == [5, 2]
    assert all(p.parent.name == "train" for p in files["train"])
    splits = load_datasets(config_for(tmp_path, batch_size=2))
    assert len(splits.val_files) == 2


def test_flat_split_is_stable_when_files_are_added(pair_folder):
    before = find_pair_files(pair_folder, val_fraction=0.3)
    color = smooth_color_image(np.random.default_rng(9), 64)
    for i in range(20):
        write_pair(pair_folder / f"zz_new_{i}.png", color, gray_of(color))
    after = find_pair_files(pair_folder, val_fraction=0.3)
    for split in ("train", "val"):
        assert set(before[split]) <= set(after[split])
    assert after["val"] and after["train"]
    assert split_of("a.png", 0.3, seed=0) == split_of("a.png", 0.3, seed=0)


# --------------------------------------------------------------------------- decoding modes


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "JPEG"])
def test_decodes_every_source_mode_to_rgb(tmp_path, mode):
    rng = np.random.default_rng(3)
    color = smooth_color_image(rng, 32)
    pair = np.concatenate([color, gray_of(color)], axis=1)
    if mode == "JPEG":
        path = tmp_path / "pair.jpg"
        Image.fromarray(pair).save(path, quality=95)
    elif mode == "I;16":
        path = tmp_path / "pair.png"
        Image.fromarray(gray_of(pair)[..., 0].astype(np.uint16) * 257).save(path)
    elif mode == "RGBA":
        path = tmp_path / "pair.png"
        rgba = np.concatenate([pair, np.full(pair.shape[:2] + (1,), 255, np.uint8)], axis=-1)
        rgba[:4, :4, 3] = 0  # transparent corner: must come out white
        Image.fromarray(rgba).save(path)
    else:
        path = tmp_path / "pair.png"
        Image.fromarray(pair).convert(mode).save(path)
    assert check_pair_file(path) is None
    sketch, decoded_color = read_pair(path)
    assert sketch.shape == (32, 32, 3) and decoded_color.dtype == np.uint8
    reference = np.asarray(Image.open(path).convert("RGB"))[:, :32]
    if mode == "I;16":  # Pillow clips 16-bit to 255 when converting; the truth is value / 257
        reference = gray_of(pair)[:, :32]
    if mode == "RGBA":
        assert (decoded_color[:4, :4] == 255).all()
        reference = reference.copy()
        reference[:4, :4] = 255
    tolerance = 3 if mode == "JPEG" else 1  # decoders may round JPEG differently
    assert np.abs(decoded_color.astype(int) - reference.astype(int)).mean() < tolerance


def test_decode_rgb_composites_gray_alpha_on_white():
    la = np.zeros((4, 8, 2), np.uint8)  # black, fully transparent
    encoded = tf.io.encode_png(tf.constant(la))
    assert (decode_rgb(encoded).numpy() == 255).all()


# --------------------------------------------------------------------------- bad input


def make_bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input, next to good pairs."""
    good = folder / "good.png"
    color = smooth_color_image(np.random.default_rng(5), 32)
    write_pair(good, color, gray_of(color))
    data = good.read_bytes()
    bad = {
        "zero-byte": folder / "empty.png",
        "truncated": folder / "truncated.png",
        "not an image": folder / "notes.png",
        "not a pair": folder / "square.png",
        "truncated JPEG": folder / "cut.jpg",
    }
    bad["zero-byte"].write_bytes(b"")
    bad["truncated"].write_bytes(data[: len(data) // 2])
    bad["not an image"].write_text("this is a text file with a .png name")
    Image.fromarray(color).save(bad["not a pair"])
    jpeg = folder / "full.jpg"
    write_pair(jpeg, color, gray_of(color))
    bad["truncated JPEG"].write_bytes(jpeg.read_bytes()[:-200])
    jpeg.unlink()
    return bad


@pytest.mark.parametrize(
    "kind, words",
    [
        ("zero-byte", "zero-byte"),
        ("truncated", "truncated"),
        ("not an image", "not an image"),
        ("not a pair", "width = 2 x height"),
        ("truncated JPEG", "truncated JPEG"),
    ],
)
def test_each_bad_file_gets_a_clear_error(tmp_path, kind, words):
    bad = make_bad_files(tmp_path)
    problem = check_pair_file(bad[kind])
    assert problem is not None and words in problem
    for other, path in bad.items():  # keep only the one bad file under test
        if other != kind:
            path.unlink()
    with pytest.raises(DatasetError) as error:
        load_datasets(config_for(tmp_path, batch_size=1, val_fraction=0.0))
    assert bad[kind].name in str(error.value) and words in str(error.value)


def test_skip_bad_reports_what_it_skipped(tmp_path):
    bad = make_bad_files(tmp_path)
    splits = load_datasets(config_for(tmp_path, batch_size=1, val_fraction=0.0, skip_bad=True))
    assert [p.name for p in splits.train_files] == ["good.png"]
    assert sorted(b.path.name for b in splits.skipped) == sorted(p.name for p in bad.values())
    assert all(b.problem for b in splits.skipped)
    sketch, _ = next(iter(splits.train))
    assert sketch.shape == (1, 32, 32, 3)


def test_missing_and_empty_folders_are_named(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as missing:
        load_datasets(config_for(tmp_path / "nowhere"))
    assert "nowhere" in str(missing.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no pair images") as empty:
        load_datasets(config_for(tmp_path / "empty"))
    assert "empty" in str(empty.value)


def test_too_few_pairs_for_a_batch_is_an_error(pair_folder):
    keep = sorted(pair_folder.glob("*.png"))[:2]
    small = pair_folder / "small"
    small.mkdir()
    for path in keep:
        shutil.copy(path, small / path.name)
    with pytest.raises(DatasetError, match="cannot fill one batch"):
        load_datasets(config_for(small, batch_size=4, val_fraction=0.0))


def test_invalid_settings_are_rejected(pair_folder):
    with pytest.raises(ValueError, match="sketch_side"):
        load_datasets(config_for(pair_folder, sketch_side="top"))
    with pytest.raises(ValueError, match="flip_prob"):
        load_datasets(config_for(pair_folder, flip_prob=1.5))


# --------------------------------------------------------------------------- real pairs


def test_real_pairs_load_and_split_the_right_way_round(real_pairs):
    """Every shared sample decodes; its sketch half is near-gray and its color half is not."""
    files = sorted(real_pairs.glob("*.png"))
    assert len(files) >= 30
    config = DataConfig(data_dir=str(real_pairs), image_size=64, batch_size=1, **NO_AUGMENT)
    sketch, color = zip(
        *[(s.numpy()[0], c.numpy()[0]) for s, c in make_dataset(files, config, training=False)]
    )
    sketch, color = np.stack(sketch), np.stack(color)

    def chroma(images):  # mean spread between channels, per image, on the 0..255 scale
        return (images.max(axis=-1) - images.min(axis=-1)).mean(axis=(1, 2)) * 127.5

    assert (chroma(sketch) < 8).all(), chroma(sketch)
    assert np.median(chroma(color)) > 4 * np.median(chroma(sketch)) + 10
    # line art is mostly white paper
    assert ((sketch + 1) * 127.5 > 200).mean() > 0.5
    sizes = {Image.open(f).size for f in files}
    assert {(512, 256), (256, 128)} <= sizes  # the pipeline takes any 2:1 size
