"""What the app does, as plain functions: numpy arrays and file paths in, numpy arrays and files out.

No Gradio here (the page is :mod:`.ui`), so each step is testable on its own and the library
stays importable without the ``app`` extra:

    model = load_app_model("runs/pix2pix-embedded")
    sketch = sketch_from_image(read_upload(Path("drawing.png")), kind="auto")
    color = colorize(model, sketch, hint_layer=None, palette_hex=None)   # uint8, the sketch's size

Every refusal is an :class:`AppInputError` whose message names the file (or the color) and the
problem; the page shows it and keeps serving.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from sketch2color import runs
from sketch2color.data.conditioning import DEFAULT_N_COLORS, extract_palette, parse_palette
from sketch2color.data.files import IMAGE_EXTENSIONS, DatasetError, open_image, output_names, pil_to_rgb
from sketch2color.data.pixels import to_uint8
from sketch2color.data.sketch import XDOG_P, extract_sketch, xdog
from sketch2color.evaluation.evaluate import EvaluationError, LoadedModel, load_model
from sketch2color.export import ExportError, colorize_array
from sketch2color.export.inference import same_aspect

INPUT_KINDS = ("auto", "sketch", "pair", "illustration")
TRAIN_COMMAND = "python -m sketch2color.train"
EDITOR_MAX_SIDE = 1024  # the hint canvas shows the sketch at most this large: hints live at 1/4 model scale
COLOR_SATURATION = 0.25  # HSV saturation above which a pixel counts as colored
COLOR_SHARE = 0.05  # an upload with more colored pixels than this is a color illustration
# A neutral start for palette models before a reference is given: paper, skin, hair, clothes, sky.
DEFAULT_PALETTE = (
    "#ffffff",
    "#f6d6c2",
    "#5a3a2e",
    "#2f3f73",
    "#c23b3b",
    "#e8c65a",
    "#7fb6e6",
    "#5f9e54",
    "#2b2b2b",
)


class AppInputError(ValueError):
    """An upload, color or hint layer the app refuses; the message is shown in the page."""


@dataclasses.dataclass(frozen=True)
class UploadLimits:
    """Caps on every uploaded file, checked before it is decoded (decompression bombs never are)."""

    max_bytes: int = 25 * 2**20
    max_pixels: int = 4096 * 4096
    min_side: int = 16  # a 1x1 "sketch" has nothing to color
    max_batch_files: int = 200


DEFAULT_LIMITS = UploadLimits()

# --------------------------------------------------------------------------- uploads


def read_upload(
    path: str | Path, limits: UploadLimits = DEFAULT_LIMITS, name: str | None = None
) -> np.ndarray:
    """An uploaded image file -> uint8 RGB [H, W, 3], or AppInputError naming ``name`` (default: its own)."""
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
    except OSError as error:
        raise AppInputError(f"{name}: cannot read the upload ({error.strerror or error})") from None
    if size > limits.max_bytes:
        raise AppInputError(
            f"{name}: {size / 2**20:.1f} MB, more than the {limits.max_bytes / 2**20:.0f} MB limit"
        )
    try:
        with Image.open(path) as header:  # reads the header only: size and frames before any pixel
            width, height = header.size
            animated = getattr(header, "is_animated", False)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        width = height = None
        animated = False
    if width is not None:
        if width * height > limits.max_pixels:
            side = math.isqrt(limits.max_pixels)
            raise AppInputError(f"{name}: {width}x{height} pixels, more than the limit of {side}x{side}")
        if animated:
            raise AppInputError(f"{name}: an animated image; upload a single still frame (PNG or JPEG)")
        if min(width, height) < limits.min_side:
            raise AppInputError(
                f"{name}: {width}x{height} pixels is too small to color "
                f"(at least {limits.min_side} px a side)"
            )
    try:
        return pil_to_rgb(open_image(path, limits.max_pixels))
    except DatasetError as error:
        raise AppInputError(f"{name}: {str(error).removeprefix(f'{path}: ')}") from None


def looks_like_color(image: np.ndarray) -> bool:
    """Whether an RGB image is a color illustration rather than line art (enough saturated pixels)."""
    saturation = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1] / 255.0
    return float((saturation > COLOR_SATURATION).mean()) > COLOR_SHARE


def resolve_kind(image: np.ndarray, kind: str = "auto") -> str:
    """'sketch', 'pair' or 'illustration' for an upload; 'auto' reads the shape and the colors."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"input kind must be one of {', '.join(INPUT_KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    height, width = image.shape[:2]
    if width == 2 * height:
        return "pair"
    return "illustration" if looks_like_color(image) else "sketch"


def sketch_from_image(
    image: np.ndarray, kind: str = "auto", line_strength: float = XDOG_P, input_mode: str = "sketch"
) -> np.ndarray:
    """The model input drawn from an upload: a sketch as it is, a pair's sketch half (right), or an
    illustration's line art (XDoG with edge emphasis ``line_strength``; gray/edges for such models)."""
    kind = resolve_kind(image, kind)
    if kind == "pair":
        height, width = image.shape[:2]
        if width != 2 * height:
            raise AppInputError(f"a pair file is twice as wide as high; this image is {width}x{height}")
        return image[:, width // 2 :]
    if kind == "illustration":
        if input_mode == "sketch":
            return xdog(image, p=float(line_strength))
        return extract_sketch(image, "gray" if input_mode == "gray" else "canny")
    return image


def editor_background(sketch: np.ndarray, max_side: int = EDITOR_MAX_SIDE) -> np.ndarray:
    """The sketch as the hint canvas shows it: at most ``max_side`` a side (hints need no more)."""
    height, width = sketch.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return sketch
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(sketch, size, interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- the model


@dataclasses.dataclass
class AppModel:
    """The loaded colorizer and what the page says about it."""

    loaded: LoadedModel
    preset: str | None
    epochs: int | None
    input_mode: str  # the base input it was trained on: sketch, edges or gray

    @property
    def palette_colors(self) -> int:
        return self.loaded.palette_colors

    @property
    def uses_hints(self) -> bool:
        return self.loaded.uses_hints

    def describe(self) -> str:
        """One Markdown line: what is loaded and what it takes."""
        parts = [f"preset **{self.preset}**" if self.preset else "a model without a run config"]
        if self.loaded.image_size:
            parts.append(f"trained at {self.loaded.image_size} px")
        if self.epochs is not None:
            parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        takes = [f"a {self.input_mode}" if self.input_mode != "sketch" else "a sketch"]
        if self.uses_hints:
            takes.append("color hints")
        if self.palette_colors:
            takes.append(f"a {self.palette_colors}-color palette")
        return f"Model `{self.loaded.location}`: {', '.join(parts)}; takes {' + '.join(takes)}."


def load_app_model(path: str | Path) -> AppModel:
    """A run directory, export or ``.keras`` file, loaded as ``evaluate`` loads it.

    AppInputError (with the command that trains one) when there is no model there.
    """
    try:
        loaded = load_model(path)
    except (
        EvaluationError,
        FileNotFoundError,
        ExportError,
        runs.ConfigError,
        runs.CheckpointError,
    ) as error:
        raise AppInputError(f"{error}. Train a model first: {TRAIN_COMMAND}") from None
    config = loaded.run_config
    epochs = None
    if loaded.run_dir is not None:
        history = runs.read_history(loaded.run_dir / runs.HISTORY_FILE)
        epochs = len(next(iter(history.values()), []))
    input_mode = config.data.input_mode if config is not None else "sketch"
    return AppModel(loaded, getattr(config, "preset", None), epochs, input_mode)


# --------------------------------------------------------------------------- hints and palette


def hint_layer_from_editor(value: dict | None) -> np.ndarray | None:
    """The hint strokes of a ``gr.ImageEditor`` value: its layers over each other, uint8 RGBA, or None."""
    if not value:
        return None
    layers = [np.asarray(layer) for layer in value.get("layers") or [] if layer is not None]
    layers = [layer for layer in layers if layer.ndim == 3 and layer.shape[-1] == 4]
    if not layers:
        return None
    merged = layers[0].copy()
    for layer in layers[1:]:
        if layer.shape != merged.shape:
            layer = cv2.resize(layer, merged.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        opaque = layer[..., 3:] > 0
        merged = np.where(opaque, layer, merged)
    return merged if (merged[..., 3] > 0).any() else None


def hint_size_message(hint_layer: np.ndarray | None, sketch: np.ndarray) -> str | None:
    """A note when the hint layer's aspect differs from the sketch's (its strokes are stretched to fit)."""
    if hint_layer is None:
        return None
    (hint_h, hint_w), (height, width) = hint_layer.shape[:2], sketch.shape[:2]
    if same_aspect(hint_layer.shape, sketch.shape):
        return None
    return f"the hint layer is {hint_w}x{hint_h}, the sketch {width}x{height}: hints stretched to the sketch"


def palette_to_hex(palette: np.ndarray) -> list[str]:
    """float [-1, 1] or uint8 colors [n, 3] -> ['#rrggbb', ...]."""
    colors = to_uint8(np.asarray(palette)) if np.asarray(palette).dtype != np.uint8 else np.asarray(palette)
    return ["#{:02x}{:02x}{:02x}".format(*(int(c) for c in color)) for color in colors]


def palette_from_reference(image: np.ndarray, n_colors: int = DEFAULT_N_COLORS) -> list[str]:
    """The K-means palette of a reference illustration, as hex codes (largest cluster first)."""
    return palette_to_hex(extract_palette(image, n_colors))


def parse_swatches(hex_codes: str | Sequence[str], n_colors: int) -> np.ndarray:
    """The user's swatches (a list of codes, or one 'a, b, c' string) -> uint8 [n_colors, 3]."""
    try:
        return to_uint8(parse_palette(hex_codes, n_colors))
    except ValueError as error:
        raise AppInputError(f"palette: {error}") from None


# --------------------------------------------------------------------------- colorizing


def colorize(
    model: AppModel,
    sketch: np.ndarray,
    hint_layer: np.ndarray | None = None,
    palette_hex: str | Sequence[str] | None = None,
    detail: str = "lines",
) -> np.ndarray:
    """uint8 sketch [H, W, 3] (+ hint strokes RGBA, + palette codes) -> uint8 color [H, W, 3].

    Inputs the model does not take are ignored; a palette model without codes uses DEFAULT_PALETTE.
    """
    palette = None
    if model.palette_colors:
        palette = parse_swatches(palette_hex or list(DEFAULT_PALETTE), model.palette_colors)
    hints = hint_layer if model.uses_hints else None
    return colorize_array(model.loaded.colorizer, sketch, palette, hints, detail)


def batch_members(
    paths: Sequence[str | Path], work_dir: Path, limits: UploadLimits = DEFAULT_LIMITS
) -> tuple[list[tuple[str, Path]], list[str]]:
    """(display name, file) of each image among the uploads, zips unpacked into ``work_dir``, and
    the problems met (a zip entry too large, too many files, an unreadable zip)."""
    members: list[tuple[str, Path]] = []
    problems: list[str] = []
    over = 0  # images beyond limits.max_batch_files: counted, not unpacked
    for path in map(Path, paths):
        if not zipfile.is_zipfile(path):
            if len(members) < limits.max_batch_files:
                members.append((path.name, path))
            else:
                over += 1
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                for index, entry in enumerate(archive.infolist()):
                    if entry.is_dir() or Path(entry.filename).suffix.lower() not in IMAGE_EXTENSIONS:
                        continue
                    label = f"{path.name}/{entry.filename}"
                    if entry.file_size > limits.max_bytes:  # the declared size: nothing is inflated yet
                        problems.append(f"{label}: {entry.file_size / 2**20:.1f} MB unpacked, over the limit")
                        continue
                    if len(members) >= limits.max_batch_files:
                        over += 1
                        continue
                    target = work_dir / f"{len(members):04d}_{index}{Path(entry.filename).suffix.lower()}"
                    with archive.open(entry) as source, open(target, "wb") as sink:
                        sink.write(source.read(limits.max_bytes + 1))  # a lying header cannot inflate more
                    members.append((label, target))
        except (
            zipfile.BadZipFile,
            OSError,
            RuntimeError,
            NotImplementedError,
        ) as error:  # encrypted, damaged
            problems.append(f"{path.name}: unreadable zip ({error})")
    if over:
        problems.append(f"{over} more image(s) not colored: at most {limits.max_batch_files} a batch")
    return members, problems


def colorize_batch(
    model: AppModel,
    paths: Sequence[str | Path],
    out_zip: str | Path,
    kind: str = "auto",
    line_strength: float = XDOG_P,
    hint_layer: np.ndarray | None = None,
    palette_hex: str | Sequence[str] | None = None,
    detail: str = "lines",
    limits: UploadLimits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, list[str]]:
    """Color every image of ``paths`` (files or zips of them) with one hint set and palette, into
    ``out_zip`` (PNGs at full size); returns the zip and the problems (bad files are skipped)."""
    if not paths:
        raise AppInputError("batch: no files uploaded")
    out_zip = Path(out_zip)
    with tempfile.TemporaryDirectory() as work:
        members, problems = batch_members(paths, Path(work), limits)
        names = output_names([label for label, _ in members])
        written = 0
        with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as archive:
            for step, (label, path) in enumerate(members):
                if progress:
                    progress(step, len(members))
                try:
                    image = read_upload(path, limits, name=label)
                    sketch = sketch_from_image(image, kind, line_strength, model.input_mode)
                except AppInputError as error:
                    problems.append(str(error) if str(error).startswith(label) else f"{label}: {error}")
                    continue
                color = colorize(model, sketch, hint_layer, palette_hex, detail)
                _, png = cv2.imencode(".png", cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
                archive.writestr(names[label], png.tobytes())
                written += 1
            if problems:
                archive.writestr("problems.txt", "\n".join(problems) + "\n")
    if not written:
        raise AppInputError("batch: no image could be colored: " + "; ".join(problems or ["no images found"]))
    return out_zip, problems
