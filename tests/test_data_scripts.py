"""Tests of data_scripts/make_pairs.py and data_scripts/download_kaggle.py, run as real subprocesses.

No test touches the network: the download tests run with an empty HOME, no Kaggle variables,
a proxy pointing at a closed local port, and fake kagglehub / kaggle tools where a download
has to "happen".
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MAKE_PAIRS = REPO / "data_scripts" / "make_pairs.py"
DOWNLOAD = REPO / "data_scripts" / "download_kaggle.py"
SIZE = 64


def run_script(
    script: Path, *args, env: dict | None = None, extra_path: Path | None = None
) -> subprocess.CompletedProcess:
    """Run a data script with this interpreter from the repo root; returns the finished process."""
    environment = dict(os.environ if env is None else env)
    python_path = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    environment["PYTHONPATH"] = os.pathsep.join(python_path)
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_module(path: Path, name: str):
    """Import a script as a module (its functions are meant to be importable)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- make_pairs


def drawing(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A flat-colored RGB test illustration with a few shapes (so the sketch has lines)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 240, np.uint8)
    for _ in range(3):
        color = tuple(int(c) for c in rng.integers(0, 200, 3))
        center = (
            int(rng.integers(width // 4, 3 * width // 4)),
            int(rng.integers(height // 4, 3 * height // 4)),
        )
        cv2.circle(image, center, int(min(height, width) // 5), color, thickness=-1)
    cv2.rectangle(image, (width // 8, height // 8), (width // 3, height // 3), (20, 30, 120), thickness=-1)
    return image


def expected_color(rgb: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Center square crop, then INTER_AREA downscale: what the left half of a pair must hold."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA -> RGB over a white page."""
    alpha = rgba[..., 3:].astype(np.float64) / 255.0
    return np.rint(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


@pytest.fixture()
def source_folder(tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    """Images of several kinds plus the RGB each must be read as (keyed by output name)."""
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    expected = {}

    rgb = drawing(96, 96, 1)
    Image.fromarray(rgb).save(src / "rgb.png")
    expected["rgb.png"] = rgb

    gray = drawing(80, 80, 2)[..., 1]
    Image.fromarray(gray).save(src / "gray.png")
    expected["gray.png"] = np.repeat(gray[..., None], 3, axis=2)

    rgba = np.dstack([drawing(90, 90, 3), np.full((90, 90), 255, np.uint8)])
    rgba[:30, :, 3] = 0  # a transparent band: must come out white, not black
    rgba[30:45, :, 3] = 128
    Image.fromarray(rgba, "RGBA").save(src / "rgba.png")
    expected["rgba.png"] = composite_on_white(rgba)

    jpeg = drawing(100, 100, 4)
    Image.fromarray(jpeg).save(src / "nested" / "photo.jpg", quality=92)
    expected["nested__photo.png"] = np.asarray(Image.open(src / "nested" / "photo.jpg").convert("RGB"))

    deep = drawing(72, 72, 5)[..., 0].astype(np.uint16) * 257  # full 16-bit range
    Image.fromarray(deep).save(src / "deep16.png")
    assert Image.open(src / "deep16.png").mode.startswith("I")
    gray8 = (deep // 257).astype(np.uint8)
    expected["deep16.png"] = np.repeat(gray8[..., None], 3, axis=2)

    deep_rgb = drawing(72, 88, 8).astype(np.uint16) * 257 + 100  # 16-bit RGB, written by OpenCV
    cv2.imwrite(str(src / "deep_rgb16.png"), deep_rgb[..., ::-1])
    expected["deep_rgb16.png"] = (deep_rgb >> 8).astype(np.uint8)

    wide = drawing(70, 150, 6)  # not square: center crop
    Image.fromarray(wide).save(src / "wide.png")
    expected["wide.png"] = wide

    palette = Image.fromarray(drawing(80, 80, 7)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(src / "palette.png")
    expected["palette.png"] = np.asarray(palette.convert("RGB"))

    (src / "notes.txt").write_text("not an image, not looked at")
    return src, expected


def pair_files(out: Path) -> dict[str, str]:
    """Output name -> split for every pair file written."""
    return {path.name: split for split in ("train", "val") for path in (out / split).glob("*.png")}


def read_pair(path: Path) -> np.ndarray:
    """A written pair file as RGB."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def test_make_pairs_reads_every_kind_of_image(source_folder, tmp_path):
    src, expected = source_folder
    out = tmp_path / "out"
    result = run_script(MAKE_PAIRS, src, out, "--size", SIZE, "--val-fraction", 0.3, "--seed", 1)
    assert result.returncode == 0, result.stderr
    written = pair_files(out)
    assert set(written) == set(expected)
    assert f"wrote {len(expected)} pair(s)" in result.stdout
    assert "sketch2color.train --data" in result.stdout
    for name, split in written.items():
        pair = read_pair(out / split / name)
        assert pair.shape == (SIZE, 2 * SIZE, 3) and pair.dtype == np.uint8, name
        color, sketch = pair[:, :SIZE], pair[:, SIZE:]
        difference = np.abs(color.astype(int) - expected_color(expected[name]).astype(int))
        assert difference.max() <= 1, f"{name}: left half is not the resized color image"
        assert np.array_equal(sketch[..., 0], sketch[..., 1]) and np.array_equal(
            sketch[..., 1], sketch[..., 2]
        ), name
        assert (sketch[..., 0] >= 250).mean() > 0.6, f"{name}: sketch should be mostly white"
        assert (sketch[..., 0] < 160).any(), f"{name}: sketch has no lines"
    # The transparent band of the RGBA file is white paper in the color half.
    rgba_pair = read_pair(out / written["rgba.png"] / "rgba.png")
    assert rgba_pair[:15, :SIZE].min() >= 254


def test_make_pairs_split_is_by_hash_and_stable_when_files_are_added(source_folder, tmp_path):
    src, _ = source_folder
    for index in range(12):  # enough files that both splits get some
        Image.fromarray(drawing(40, 40, 100 + index)).save(src / f"extra_{index:02d}.png")
    out = tmp_path / "out"
    first = run_script(MAKE_PAIRS, src, out, "--size", 32, "--val-fraction", 0.4, "--quiet")
    assert first.returncode == 0, first.stderr
    before = pair_files(out)
    assert set(before.values()) == {"train", "val"}
    # The split is a function of (seed, relative path) alone.
    for path in sorted(src.rglob("*")):
        if path.suffix in (".png", ".jpg"):
            rel = path.relative_to(src).as_posix()
            digest = hashlib.sha1(f"0:{rel}".encode()).digest()
            split = "val" if int.from_bytes(digest[:8], "big") / 2**64 < 0.4 else "train"
            assert before["__".join(Path(rel).with_suffix("").parts) + ".png"] == split, rel

    Image.fromarray(drawing(40, 40, 999)).save(src / "added_later.png")
    second = run_script(MAKE_PAIRS, src, out, "--size", 32, "--val-fraction", 0.4, "--quiet")
    assert second.returncode == 0, second.stderr
    after = pair_files(out)
    assert set(after) == set(before) | {"added_later.png"}
    assert {name: after[name] for name in before} == before

    # Another seed moves some files; none may be left behind in the old split.
    third = run_script(MAKE_PAIRS, src, out, "--size", 32, "--val-fraction", 0.4, "--seed", 7, "--quiet")
    assert third.returncode == 0, third.stderr
    reseeded = pair_files(out)
    assert reseeded != after
    train = {p.name for p in (out / "train").glob("*.png")}
    val = {p.name for p in (out / "val").glob("*.png")}
    assert not train & val and train | val == set(after)


@pytest.mark.parametrize(
    "name, contents, problem",
    [
        ("empty.jpg", b"", "zero-byte"),
        ("garbage.png", b"this is not a png at all" * 20, "not an image"),
        ("truncated.png", None, "corrupt or truncated"),
    ],
)
def test_make_pairs_bad_file_stops_with_exit_2_naming_it(source_folder, tmp_path, name, contents, problem):
    src, _ = source_folder
    if contents is None:  # the first half of a real PNG
        full = cv2.imencode(".png", drawing(64, 64, 9))[1].tobytes()
        contents = full[: len(full) // 2]
    (src / name).write_bytes(contents)
    result = run_script(MAKE_PAIRS, src, tmp_path / "out", "--size", 32, "--quiet")
    assert result.returncode == 2
    assert str(src / name) in result.stderr and problem in result.stderr
    assert "--skip-bad" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_pairs_skip_bad_reports_the_skipped_files(source_folder, tmp_path):
    src, expected = source_folder
    (src / "empty.png").write_bytes(b"")
    (src / "nested" / "junk.webp").write_bytes(os.urandom(300))
    out = tmp_path / "out"
    result = run_script(MAKE_PAIRS, src, out, "--size", 32, "--skip-bad", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "skipped 2 bad file(s)" in result.stdout
    assert str(src / "empty.png") in result.stdout and "zero-byte" in result.stdout
    assert str(src / "nested" / "junk.webp") in result.stdout
    assert set(pair_files(out)) == set(expected)


def test_make_pairs_empty_or_missing_source(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    result = run_script(MAKE_PAIRS, empty, tmp_path / "out")
    assert result.returncode == 2
    assert "no images found" in result.stderr and str(empty) in result.stderr
    missing = run_script(MAKE_PAIRS, tmp_path / "nope", tmp_path / "out")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    for bad in (result, missing):
        assert "Traceback" not in bad.stderr


def test_make_pairs_output_inside_source_is_not_reread(tmp_path):
    src = tmp_path / "art"
    src.mkdir()
    Image.fromarray(drawing(48, 48)).save(src / "one.png")
    for _ in range(2):
        result = run_script(MAKE_PAIRS, src, src / "pairs", "--size", 32, "--quiet")
        assert result.returncode == 0, result.stderr
        assert "wrote 1 pair(s)" in result.stdout


def test_make_pairs_help_documents_every_flag():
    result = run_script(MAKE_PAIRS, "--help")
    assert result.returncode == 0
    for flag in (
        "--method",
        "--size",
        "--val-fraction",
        "--seed",
        "--skip-bad",
        "SRC_DIR",
        "OUT_DIR",
        "xdog",
        "canny",
        "gray",
    ):
        assert flag in result.stdout


def test_make_pairs_functions_are_importable():
    module = load_module(MAKE_PAIRS, "make_pairs_under_test")
    names = module.output_names(["a.png", "sub/a.png", "b.png", "b.jpg"])
    assert names == {"a.png": "a.png", "sub/a.png": "sub__a.png", "b.png": "b_png.png", "b.jpg": "b_jpg.png"}
    pair = module.make_pair(drawing(50, 80), 32, "canny")
    assert pair.shape == (32, 64, 3)
    assert module.split_of("x.png", 0.0) == "train" and module.split_of("x.png", 0.999999) == "val"


def test_read_rgb_applies_exif_orientation(tmp_path):
    module = load_module(MAKE_PAIRS, "make_pairs_exif")
    stored = drawing(40, 80, 3)  # stored landscape, tagged "rotate 90 degrees clockwise to view"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    Image.fromarray(stored).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    rgb = module.read_rgb(tmp_path / "turned.jpg")
    assert rgb.shape == (80, 40, 3)
    upright = np.rot90(np.asarray(Image.open(tmp_path / "turned.jpg").convert("RGB")), k=-1)
    assert np.abs(rgb.astype(int) - upright.astype(int)).max() <= 1


# --------------------------------------------------------------------------- download_kaggle


FAKE_KAGGLEHUB = '''
"""Stand-in for kagglehub: records calls, never uses the network."""
import os
from pathlib import Path

def dataset_download(handle, path=None, **kwargs):
    Path(os.environ["FAKE_CALLS"]).write_text(handle + "\\n" + os.environ.get("KAGGLEHUB_CACHE", ""))
    mode = os.environ.get("FAKE_MODE", "ok")
    if mode == "offline":
        try:
            raise OSError("[Errno -3] Temporary failure in name resolution")
        except OSError as cause:
            raise ConnectionError("Max retries exceeded with url: /api/v1/datasets") from cause
    root = (
        Path(os.environ.get("KAGGLEHUB_CACHE") or os.environ["FAKE_CACHE"])
        / "datasets" / handle / "versions" / "1"
    )
    for split in ("train", "val"):
        (root / "data" / split).mkdir(parents=True, exist_ok=True)
    return str(root)
'''

FAKE_KAGGLE_CLI = '''#!{python}
"""Stand-in for the kaggle CLI: records its arguments, never uses the network."""
import os, sys
from pathlib import Path
Path(os.environ["FAKE_CALLS"]).write_text(" ".join(sys.argv[1:]))
if os.environ.get("FAKE_MODE") == "offline":
    sys.stderr.write("Traceback (most recent call last):\\n  ...\\nrequests.exceptions.ConnectionError: "
                     "HTTPSConnectionPool(host='www.kaggle.com', port=443): Max retries exceeded "
                     "(Caused by NewConnectionError('Failed to establish a new connection'))\\n")
    sys.exit(1)
dest = Path(sys.argv[sys.argv.index("-p") + 1])
for split in ("train", "val"):
    (dest / "data" / split).mkdir(parents=True, exist_ok=True)
'''


@pytest.fixture()
def clean_env(tmp_path) -> dict:
    """An environment with no Kaggle credentials anywhere and no way out to the network."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE") and k != "XDG_CONFIG_HOME"}
    env.update(
        HOME=str(home),
        FAKE_CALLS=str(tmp_path / "calls.txt"),
        FAKE_CACHE=str(tmp_path / "cache"),
        # Anything that did try to download would hit a closed local port, not the internet.
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
    )
    env.pop("KAGGLEHUB_CACHE", None)
    return env


@pytest.fixture()
def fake_hub(tmp_path) -> Path:
    """A folder holding a fake kagglehub package, for PYTHONPATH."""
    folder = tmp_path / "fakes"
    (folder / "kagglehub").mkdir(parents=True)
    (folder / "kagglehub" / "__init__.py").write_text(FAKE_KAGGLEHUB)
    return folder


def test_download_without_credentials_or_tools_exits_2(clean_env, tmp_path):
    result = run_script(DOWNLOAD, env=clean_env)
    assert result.returncode == 2
    message = result.stderr
    assert "credentials" in message or "pip install kagglehub" in message
    assert "Traceback" not in message
    assert not Path(clean_env["FAKE_CALLS"]).exists()


def test_download_without_credentials_explains_how_to_get_them(clean_env, fake_hub):
    result = run_script(
        DOWNLOAD, "--dest", Path(clean_env["HOME"]) / "data", env=clean_env, extra_path=fake_hub
    )
    assert result.returncode == 2
    assert "no Kaggle API credentials" in result.stderr
    assert "kaggle.json" in result.stderr and "https://www.kaggle.com/settings" in result.stderr
    assert "Traceback" not in result.stderr
    assert not Path(clean_env["FAKE_CALLS"]).exists(), "must not try to download without credentials"


def test_download_with_kagglehub_prints_the_training_folder(clean_env, fake_hub):
    kaggle_dir = Path(clean_env["HOME"]) / ".kaggle"
    kaggle_dir.mkdir()
    (kaggle_dir / "kaggle.json").write_text('{"username": "someone", "key": "0123"}')
    dest = Path(clean_env["HOME"]) / "datasets"
    result = run_script(DOWNLOAD, "--dest", dest, env=clean_env, extra_path=fake_hub)
    assert result.returncode == 0, result.stderr
    handle, cache = Path(clean_env["FAKE_CALLS"]).read_text().splitlines()
    assert handle == "ktaebum/anime-sketch-colorization-pair"
    assert Path(cache) == dest.resolve()
    data_root = dest.resolve() / "datasets" / handle / "versions" / "1" / "data"
    assert f"python -m sketch2color.train --data {data_root}" in result.stdout
    # A second run finds the data already there and does not download again.
    Path(clean_env["FAKE_CALLS"]).unlink()
    again = run_script(DOWNLOAD, "--dest", dest, env=clean_env, extra_path=fake_hub)
    assert again.returncode == 0 and "already holds the dataset" in again.stdout
    assert not Path(clean_env["FAKE_CALLS"]).exists()


def test_download_offline_gives_a_short_message(clean_env, fake_hub):
    env = dict(clean_env, KAGGLE_USERNAME="someone", KAGGLE_KEY="0123", FAKE_MODE="offline")
    result = run_script(DOWNLOAD, env=env, extra_path=fake_hub)
    assert result.returncode == 2
    assert "cannot reach Kaggle" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) < 10


@pytest.mark.parametrize("mode", ["ok", "offline"])
def test_download_with_the_kaggle_cli(clean_env, tmp_path, mode):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "kaggle"
    cli.write_text(FAKE_KAGGLE_CLI.format(python=sys.executable))
    cli.chmod(0o755)
    env = dict(
        clean_env,
        PATH=f"{bin_dir}{os.pathsep}{clean_env.get('PATH', '')}",
        KAGGLE_API_TOKEN="token",
        FAKE_MODE=mode,
    )
    dest = tmp_path / "kaggle-data"
    result = run_script(DOWNLOAD, "--method", "cli", "--dest", dest, env=env)
    arguments = Path(env["FAKE_CALLS"]).read_text()
    assert arguments == f"datasets download -d ktaebum/anime-sketch-colorization-pair -p {dest} --unzip"
    if mode == "ok":
        assert result.returncode == 0, result.stderr
        assert f"python -m sketch2color.train --data {dest / 'data'}" in result.stdout
    else:
        assert result.returncode == 2
        assert "cannot reach Kaggle" in result.stderr and "Traceback" not in result.stderr


VERIFY = REPO / "data_scripts" / "verify_dataset.py"


def test_make_pairs_out_dir_that_is_a_file_is_a_clear_error(source_folder, tmp_path):
    src, _ = source_folder
    a_file = tmp_path / "out_file"
    a_file.write_text("not a folder")
    result = run_script(MAKE_PAIRS, src, a_file)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{a_file}: OUT_DIR exists and is not a folder" in result.stderr


def test_verify_dataset_preview_into_a_new_folder_and_into_a_folder(source_folder, tmp_path):
    src, _ = source_folder
    pairs = tmp_path / "pairs"
    assert run_script(MAKE_PAIRS, src, pairs, "--size", 32).returncode == 0
    preview = tmp_path / "new" / "folder" / "preview.png"
    made = run_script(VERIFY, pairs, "--preview", preview)
    assert made.returncode == 0, made.stderr
    assert preview.read_bytes().startswith(b"\x89PNG")
    refused = run_script(VERIFY, pairs, "--preview", tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert f"--preview {tmp_path}: is a folder" in refused.stderr
