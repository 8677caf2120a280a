"""The app's handlers as plain functions (numpy in, numpy out), for each kind of model, and every
upload the app must refuse with a message naming the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_models import export_models
from conftest import gray_of, smooth_color_image, write_pair
from PIL import Image

from sketch2color.app import handlers
from sketch2color.app.handlers import AppInputError, UploadLimits
from sketch2color.data.sketch import xdog


def line_sketch(height: int = 300, width: int = 200) -> np.ndarray:
    """Dark lines on white paper, uint8 RGB."""
    sketch = np.full((height, width, 3), 255, np.uint8)
    sketch[height // 3 : height // 3 + 6] = 0
    sketch[:, width // 2 : width // 2 + 4] = 20
    return sketch


def red_stroke(height: int, width: int) -> np.ndarray:
    """A hint layer: one opaque red stroke on a transparent canvas, uint8 RGBA."""
    layer = np.zeros((height, width, 4), np.uint8)
    layer[height // 6 : height // 2, width // 6 : width // 2] = [220, 30, 30, 255]
    return layer


@pytest.fixture(scope="module")
def exported_models(tmp_path_factory):
    return export_models(tmp_path_factory.mktemp("app-models"))


@pytest.fixture(scope="module")
def models(exported_models):
    return {kind: handlers.load_app_model(folder) for kind, folder in exported_models.items()}


def save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


# --------------------------------------------------------------------------- colorizing, per model kind


def test_a_sketch_model_colors_at_the_sketchs_own_size(models):
    model = models["pix2pix"]
    assert (model.uses_hints, model.palette_colors) == (False, 0)
    sketch = line_sketch(300, 200)
    color = handlers.colorize(model, sketch)
    assert color.dtype == np.uint8 and color.shape == sketch.shape
    # Inputs it does not take change nothing.
    ignored = handlers.colorize(model, sketch, red_stroke(300, 200), ["#ff0000"])
    np.testing.assert_array_equal(color, ignored)
    # Full resolution: 'lines' keeps the sketch's lines dark, 'none' is the model's blurry upscale.
    plain = handlers.colorize(model, sketch, detail="none")
    line_rows = slice(100, 106)
    assert color[line_rows].mean() < plain[line_rows].mean()


def test_a_hint_stroke_changes_the_colors_and_any_canvas_size_is_taken(models):
    model = models["hints"]
    assert model.uses_hints and "color hints" in model.describe()
    sketch = line_sketch(300, 200)
    without = handlers.colorize(model, sketch)
    with_hint = handlers.colorize(model, sketch, red_stroke(300, 200))
    assert with_hint.shape == sketch.shape
    assert np.abs(with_hint.astype(int) - without).mean() > 0.01
    # The canvas shows the sketch smaller: hints drawn there land on the same places.
    half_canvas = handlers.colorize(model, sketch, red_stroke(150, 100))
    assert (
        np.abs(half_canvas.astype(int) - with_hint).mean()
        < 0.5 * np.abs(with_hint.astype(int) - without).mean()
    )
    # Another aspect: still colored, with a note that the strokes are stretched.
    assert handlers.hint_size_message(red_stroke(100, 300), sketch).startswith("the hint layer is 300x100")
    assert handlers.colorize(model, sketch, red_stroke(100, 300)).shape == sketch.shape
    assert handlers.hint_size_message(red_stroke(150, 100), sketch) is None


def test_a_palette_model_follows_the_swatches_and_refuses_a_bad_hex(models):
    model = models["palette"]
    assert model.palette_colors == 9
    sketch = line_sketch()
    warm = handlers.colorize(model, sketch, palette_hex=["#ff4400"] * 9)
    cool = handlers.colorize(model, sketch, palette_hex="#0044ff, #00ffcc")
    default = handlers.colorize(model, sketch)  # no palette given: DEFAULT_PALETTE
    assert np.abs(warm.astype(int) - cool).mean() > 0.01
    np.testing.assert_array_equal(
        default, handlers.colorize(model, sketch, palette_hex=list(handlers.DEFAULT_PALETTE))
    )
    with pytest.raises(AppInputError, match=r"palette: bad palette color '#12345g'"):
        handlers.colorize(model, sketch, palette_hex=["#ffffff", "#12345g"])
    with pytest.raises(AppInputError, match="at most 9"):
        handlers.parse_swatches(["#ffffff"] * 10, 9)


def test_a_reference_gives_nine_hex_swatches_of_its_colors():
    rng = np.random.default_rng(0)
    reference = smooth_color_image(rng, 64)
    codes = handlers.palette_from_reference(reference, 9)
    assert len(codes) == 9 and all(len(code) == 7 and code.startswith("#") for code in codes)
    # Round trip: the codes parse back to the same uint8 colors.
    assert handlers.palette_to_hex(handlers.parse_swatches(codes, 9)) == codes


def test_the_hint_canvas_value_becomes_one_rgba_layer():
    assert handlers.hint_layer_from_editor(None) is None
    empty = np.zeros((40, 30, 4), np.uint8)
    assert handlers.hint_layer_from_editor({"background": None, "layers": [empty]}) is None
    first, second = red_stroke(40, 30), np.zeros((20, 15, 4), np.uint8)
    second[15:, 10:] = [0, 0, 255, 255]
    merged = handlers.hint_layer_from_editor({"layers": [first, second]})
    assert merged.shape == (40, 30, 4)
    assert tuple(merged[10, 10]) == (220, 30, 30, 255) and tuple(merged[35, 25]) == (0, 0, 255, 255)


def test_the_model_card_says_preset_size_and_epochs_of_a_run(tmp_path, exported_models):
    info = handlers.load_app_model(exported_models["pix2pix"]).describe()
    assert "trained at 32 px" in info and "takes a sketch" in info
    with pytest.raises(AppInputError, match=r"no such model.*python -m sketch2color.train"):
        handlers.load_app_model(tmp_path / "missing")


# --------------------------------------------------------------------------- what the upload is


def test_the_upload_kind_is_read_from_shape_and_colors(tmp_path):
    rng = np.random.default_rng(1)
    color = smooth_color_image(rng, 64)
    sketch = gray_of(color)
    pair = np.concatenate([color, sketch], axis=1)
    assert handlers.resolve_kind(pair) == "pair"
    np.testing.assert_array_equal(handlers.sketch_from_image(pair), sketch)
    assert handlers.resolve_kind(color) == "illustration"
    assert handlers.resolve_kind(line_sketch()) == "sketch"
    # An illustration's line art is the project's XDoG, its strength the edge emphasis p.
    np.testing.assert_array_equal(handlers.sketch_from_image(color, "illustration", 20), xdog(color, p=20))
    assert not np.array_equal(handlers.sketch_from_image(color, "illustration", 90), xdog(color, p=20))
    # Gray-input models get the illustration's luminance, not line art.
    gray = handlers.sketch_from_image(color, "illustration", input_mode="gray")
    np.testing.assert_array_equal(gray[..., 0], gray_of(color)[..., 0].astype(np.uint8))
    with pytest.raises(AppInputError, match="twice as wide"):
        handlers.sketch_from_image(color, "pair")


def test_a_large_sketch_is_shown_smaller_on_the_hint_canvas():
    big = line_sketch(3000, 2000)
    shown = handlers.editor_background(big, 1024)
    assert shown.shape == (1024, 683, 3)
    assert handlers.editor_background(line_sketch(300, 200), 1024).shape == (300, 200, 3)


# --------------------------------------------------------------------------- bad uploads


def animated_gif(path: Path) -> Path:
    frames = [Image.fromarray(np.full((32, 32, 3), value, np.uint8)) for value in (0, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def bad_uploads(folder: Path) -> dict[str, tuple[Path, str]]:
    """{case: (file, expected message)} for every refused upload."""
    rng = np.random.default_rng(2)
    good = save(folder / "good.png", smooth_color_image(rng, 64))
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(good.read_bytes()[:200])
    text = folder / "notes.png"
    text.write_text("not an image at all")
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    huge_bytes = folder / "huge.png"
    huge_bytes.write_bytes(good.read_bytes() + b"\0" * (2 * 2**20))
    # A decompression bomb: 3 kB on disk, 6000 x 6000 pixels once decoded.
    bomb = folder / "bomb.png"
    Image.new("L", (6000, 6000), 255).save(bomb, optimize=True)
    return {
        "non-image": (text, "notes.png: not an image"),
        "corrupt": (corrupt, "corrupt.png: corrupt or truncated image"),
        "zero bytes": (empty, "empty.png: zero-byte file"),
        "1x1": (save(folder / "dot.png", np.zeros((1, 1, 3), np.uint8)), "dot.png: 1x1 pixels is too small"),
        "animated": (animated_gif(folder / "anim.gif"), "anim.gif: an animated image"),
        "too many bytes": (huge_bytes, r"huge.png: 2\.\d MB, more than the 1 MB limit"),
        "decompression bomb": (bomb, "bomb.png: 6000x6000 pixels, more than the limit of 4096x4096"),
    }


def test_every_bad_upload_is_refused_with_its_name_and_problem(tmp_path, monkeypatch):
    limits = UploadLimits(max_bytes=2**20)
    opened = []
    monkeypatch.setattr(handlers, "open_image", lambda *args: opened.append(args) or pytest.fail("decoded"))
    for case, (path, message) in bad_uploads(tmp_path).items():
        if case in ("non-image", "corrupt", "zero bytes"):
            continue  # these reach the decoder's own checks (next test)
        with pytest.raises(AppInputError, match=message):
            handlers.read_upload(path, limits)
    assert not opened  # size, pixels, frames and sides are judged from the header, before decoding


def test_files_the_header_cannot_judge_are_refused_by_the_decoding_check(tmp_path):
    cases = bad_uploads(tmp_path)
    for case in ("non-image", "corrupt", "zero bytes"):
        path, message = cases[case]
        with pytest.raises(AppInputError, match=message):
            handlers.read_upload(path)
    assert handlers.read_upload(tmp_path / "good.png").shape == (64, 64, 3)


# --------------------------------------------------------------------------- batch


def test_a_batch_colors_files_and_zips_with_one_palette_and_lists_the_bad_ones(tmp_path, models):
    rng = np.random.default_rng(3)
    inputs = tmp_path / "in"
    inputs.mkdir()
    loose = save(inputs / "loose.png", line_sketch(120, 80))
    pair = write_pair(inputs / "pair.png", smooth_color_image(rng, 64), gray_of(smooth_color_image(rng, 64)))
    archive = inputs / "more.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(save(inputs / "a.png", line_sketch(90, 90)), "sketches/a.png")
        zipped.writestr("sketches/broken.png", b"garbage")
        zipped.writestr("readme.txt", "skipped: not an image name")
    out = tmp_path / "colored.zip"
    zip_path, problems = handlers.colorize_batch(
        models["palette"], [loose, pair, archive], out, palette_hex="#ff8800"
    )
    with zipfile.ZipFile(zip_path) as result:
        names = sorted(result.namelist())
        assert names == ["loose.png", "more.zip__sketches__a.png", "pair.png", "problems.txt"]
        sizes = {name: Image.open(result.open(name)).size for name in names if name.endswith(".png")}
        problems_text = result.read("problems.txt").decode()
    assert sizes == {"loose.png": (80, 120), "more.zip__sketches__a.png": (90, 90), "pair.png": (64, 64)}
    assert problems == ["more.zip/sketches/broken.png: not an image (unrecognized file contents)"]
    assert "broken.png" in problems_text
    # At most max_batch_files images, loose or zipped; the rest are counted, never unpacked.
    members, capped = handlers.batch_members(
        [loose, pair, archive], tmp_path, UploadLimits(max_batch_files=2)
    )
    assert [label for label, _ in members] == ["loose.png", "pair.png"]
    assert capped == ["2 more image(s) not colored: at most 2 a batch"]
    assert not list(tmp_path.glob("0*_*.png"))  # nothing of the zip was written
    with pytest.raises(AppInputError, match="no image could be colored"):
        handlers.colorize_batch(models["pix2pix"], [inputs / "more.zip__missing.png"], tmp_path / "none.zip")
