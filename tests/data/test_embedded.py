"""Tests of the embedded dataset cache (sketch2color.data.embedded): item seeds and the atomic,
cached dataset files."""

from __future__ import annotations

import json
import socket

import cv2
import numpy as np
import pytest

from sketch2color.data import embedded
from sketch2color.data.embedded import (
    GENERATOR_NAME,
    embedded_dataset_dir,
    ensure_embedded_dataset,
    item_seed,
    write_dataset,
)
from sketch2color.data.synthetic import PAIR_FORMAT_VERSION, render_pair

SMALL = 64  # pixels: fast renders


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never touch the real ~/.cache/sketch2color, even through the default cache dir."""
    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(tmp_path / "default-cache"))


def test_item_seeds_never_overlap_between_splits():
    train = {item_seed(0, "train", i) for i in range(2000)}
    val = {item_seed(0, "val", i) for i in range(2000)}
    assert len(train) == 2000 and len(val) == 2000 and not train & val
    assert item_seed(0, "train", 0) != item_seed(1, "train", 0)


def test_write_dataset_files_marker_and_noop(tmp_path):
    root = write_dataset(tmp_path / "ds", n_train=3, n_val=2, seed=4, height=SMALL, progress=False)
    assert root == tmp_path / "ds"
    assert sorted(p.name for p in (root / "train").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert sorted(p.name for p in (root / "val").iterdir()) == ["000000.png", "000001.png"]
    marker = json.loads((root / "DATASET.json").read_text())
    assert {k: marker[k] for k in ("format_version", "n_train", "n_val", "seed", "height")} == {
        "format_version": PAIR_FORMAT_VERSION,
        "n_train": 3,
        "n_val": 2,
        "seed": 4,
        "height": SMALL,
    }
    # The generator label is the historical module name: existing caches must stay valid.
    assert marker["generator"] == GENERATOR_NAME == "sketch2color.synthetic"
    written = cv2.cvtColor(cv2.imread(str(root / "val" / "000001.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, render_pair(item_seed(4, "val", 1), SMALL))
    assert not list(tmp_path.glob(".ds.*")), "no temporary folders left behind"

    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert write_dataset(root, n_train=3, n_val=2, seed=4, height=SMALL, progress=False) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == stamps


def test_write_dataset_replaces_its_own_dataset_with_other_settings(tmp_path):
    root = write_dataset(tmp_path / "ds", n_train=2, n_val=1, height=SMALL, progress=False)
    write_dataset(root, n_train=4, n_val=1, height=SMALL, progress=False)
    assert len(list((root / "train").iterdir())) == 4
    assert json.loads((root / "DATASET.json").read_text())["n_train"] == 4


def test_interrupted_generation_leaves_nothing_complete(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_render = embedded.render_pair

    def failing_render(seed, height=512):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real_render(seed, height)

    monkeypatch.setattr(embedded, "render_pair", failing_render)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(tmp_path / "ds", n_train=5, n_val=1, height=SMALL, progress=False)
    assert not (tmp_path / "ds").exists()
    assert not list(tmp_path.iterdir()), "the temporary folder is removed"
    monkeypatch.setattr(embedded, "render_pair", real_render)
    write_dataset(tmp_path / "ds", n_train=5, n_val=1, height=SMALL, progress=False)
    assert len(list((tmp_path / "ds" / "train").iterdir())) == 5


def test_partial_folders_do_not_count_as_complete(tmp_path):
    spec = embedded.dataset_spec(2, 1, 0, SMALL)
    # A killed run's temporary folder, even with a marker inside, is not the dataset.
    dead_tmp = tmp_path / f".ds.tmp-{2**22 + 12345}-deadbeef-{socket.gethostname()}"
    (dead_tmp / "train").mkdir(parents=True)
    (dead_tmp / "DATASET.json").write_text(json.dumps(spec))
    other_host_tmp = tmp_path / f".ds.tmp-{2**22 + 12345}-deadbeef-{socket.gethostname()}-elsewhere"
    other_host_tmp.mkdir()
    assert not embedded.is_complete_dataset(tmp_path / "ds", spec)
    # A marker whose files are missing is not complete either.
    fake = tmp_path / "fake"
    (fake / "train").mkdir(parents=True)
    (fake / "DATASET.json").write_text(json.dumps(spec))
    assert not embedded.is_complete_dataset(fake, spec)

    write_dataset(tmp_path / "ds", n_train=2, n_val=1, height=SMALL, progress=False)
    assert embedded.is_complete_dataset(tmp_path / "ds", spec)
    assert not dead_tmp.exists(), "abandoned temporary folders are cleaned up"
    assert other_host_tmp.exists(), "another machine's run may still be writing there"


def test_write_dataset_refuses_foreign_folder(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.png").write_bytes(b"not ours")
    with pytest.raises(FileExistsError):
        write_dataset(foreign, n_train=1, n_val=1, height=SMALL, progress=False)
    assert (foreign / "holiday.png").read_bytes() == b"not ours"


def test_embedded_dataset_dir_naming_and_env(tmp_path, monkeypatch):
    path = embedded_dataset_dir(tmp_path, n_train=800, n_val=80, seed=0, height=512)
    assert path == tmp_path / f"embedded-v{PAIR_FORMAT_VERSION}-s0-h512-n800-v80"
    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(tmp_path / "env-cache"))
    assert embedded_dataset_dir(n_train=5, n_val=2, height=64).parent == tmp_path / "env-cache"


def test_ensure_embedded_dataset_generates_once_in_given_cache(tmp_path):
    root = ensure_embedded_dataset(cache_dir=tmp_path, n_train=2, n_val=1, height=SMALL, progress=False)
    assert root == embedded_dataset_dir(tmp_path, 2, 1, 0, SMALL)
    assert root.parent == tmp_path
    assert len(list((root / "train").glob("*.png"))) == 2 and len(list((root / "val").glob("*.png"))) == 1
    marker_time = (root / "DATASET.json").stat().st_mtime_ns
    again = ensure_embedded_dataset(cache_dir=tmp_path, n_train=2, n_val=1, height=SMALL, progress=False)
    assert again == root
    assert (root / "DATASET.json").stat().st_mtime_ns == marker_time
    assert not (tmp_path / "default-cache").exists()


def test_ensure_embedded_dataset_rebuilds_a_broken_cache_entry(tmp_path):
    root = embedded_dataset_dir(tmp_path, 2, 1, 0, SMALL)
    (root / "train").mkdir(parents=True)
    (root / "train" / "000000.png").write_bytes(b"truncated")
    ensure_embedded_dataset(cache_dir=tmp_path, n_train=2, n_val=1, height=SMALL, progress=False)
    assert embedded.is_complete_dataset(root, embedded.dataset_spec(2, 1, 0, SMALL))
    assert cv2.imread(str(root / "train" / "000000.png")) is not None
