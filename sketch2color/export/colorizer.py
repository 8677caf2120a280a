"""The exported colorizer: a trained generator as a SavedModel for uint8 sketches of any size.

The serving signature takes ``sketch``: uint8 [batch, height, width, 3] and returns ``color``:
uint8 of the same shape. Inside the graph the sketch is scaled so that its longer side equals
the training image size (the scale the model learned), padded with white paper to a multiple of
that size, colorized with ``training=False`` (no dropout, frozen batch-norm statistics), cropped
and scaled back to the input size. A sketch larger than the training size keeps its own lines:
the model's colors are upsampled under the full-resolution line art (:func:`line_detail`);
``serve_plain`` is the plain upscale.

A ``generator.keras`` file (ours or anyone's) loads too, always with Keras' ``safe_mode=True``:
a file that would run code on loading (a ``Lambda`` layer's pickled bytecode) is refused.
"""

from __future__ import annotations

import dataclasses
import logging
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from sketch2color import runs
from sketch2color.config import load_json, save_json
from sketch2color.data.conditioning import ConditioningSpec, assemble_input, input_channels
from sketch2color.data.pipeline import conditioning_spec
from sketch2color.data.pixels import HALF_RANGE, to_uint8, to_unit_range

log = logging.getLogger(__name__)

SAVED_MODEL_DIR = "saved_model"
EXPORT_SETTINGS_FILE = "export.json"
UNKNOWN_TRAINING_SIZE = 256  # a .keras file alone does not say the size it was trained at
KERAS_FILE = "generator.keras"


@dataclasses.dataclass
class ExportSettings:
    """What a ``.keras`` generator file needs beside it to colorize like the SavedModel."""

    image_size: int
    conditioning: dict  # a ConditioningSpec's fields


def _resize(images: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """Bilinear resize, antialiased when shrinking; same-size images are left untouched.

    Upscaling skips the antialiasing filter: it changes nothing there (within 2e-7) and its
    kernel took 5x as long (20 vs 4 ms for 128 -> 1024 px): most of the export's overhead.
    """
    size = tf.stack([height, width])
    same = tf.logical_and(tf.equal(tf.shape(images)[1], height), tf.equal(tf.shape(images)[2], width))
    shrinking = tf.logical_or(height < tf.shape(images)[1], width < tf.shape(images)[2])
    return tf.cond(
        same,
        lambda: images,
        lambda: tf.cond(
            shrinking,
            lambda: tf.image.resize(images, size, antialias=True),
            lambda: tf.image.resize(images, size),
        ),
    )


def _resized_uint8(y: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """Model output [B, h, w, 3] in [-1, 1] -> uint8 [B, height, width, 3], as ``to_uint8(_resize(y))``.

    The scaling to 0..255 and the clipping happen at the model's size, before the resize (a
    bilinear or antialiased resize is a convex combination, so it stays in range): the full-size
    image then takes two passes (resize, round) instead of five: 8.0 -> 6.3 ms at 128 -> 1024 px
    (docs/performance.md). Rounding is half-up instead of half-to-even.
    """
    levels = tf.clip_by_value((y + 1.0) * HALF_RANGE, 0.0, 255.0)
    return tf.cast(_resize(levels, height, width) + 0.5, tf.uint8)


class Colorizer(tf.Module):
    """The generator wrapped with uint8 in/out, any-size handling, and its training size.

    Models trained with conditioning take more inputs: ``palette`` uint8 [B, n_colors, 3]
    (a reference's K-means colors, or the user's), and ``hints`` float32 [B, H, W, 4] at the
    sketch's size (hint colors in [-1, 1] plus a 0/1 mask, see
    ``sketch2color.data.conditioning.hints_from_image``; zeros mean "no hints").
    """

    def __init__(self, generator: keras.Model, image_size: int, spec: ConditioningSpec | None = None):
        super().__init__(name="colorizer")
        spec = spec or ConditioningSpec()
        self.generator = generator
        self.spec = spec
        self.image_size = tf.Variable(image_size, trainable=False, dtype=tf.int32, name="image_size")
        palette_colors = spec.n_colors if spec.palette else 0
        self.palette_colors = tf.Variable(palette_colors, trainable=False, name="palette_colors")
        self.uses_hints = tf.Variable(spec.hints, trainable=False, name="uses_hints")
        signature = [tf.TensorSpec([None, None, None, 3], tf.uint8, name="sketch")]
        if spec.palette:
            signature.append(tf.TensorSpec([None, palette_colors, 3], tf.uint8, name="palette"))
        if spec.hints:
            signature.append(tf.TensorSpec([None, None, None, 4], tf.float32, name="hints"))

        def serve(sketch, *extra):
            palette = extra[0] if spec.palette else None
            hints = extra[-1] if spec.hints else None
            return self._colorize(sketch, palette, hints, detail=True)

        def serve_plain(sketch, *extra):
            palette = extra[0] if spec.palette else None
            hints = extra[-1] if spec.hints else None
            return self._colorize(sketch, palette, hints, detail=False)

        self.serve = tf.function(serve, input_signature=signature)
        self.serve_plain = tf.function(serve_plain, input_signature=signature)

    def _colorize(self, sketch, palette, hints, detail: bool = True) -> dict[str, tf.Tensor]:
        """uint8 sketches [B, H, W, 3] (+ conditioning) -> {"color": uint8 [B, H, W, 3]}.

        ``detail``: a sketch larger than the training size gets its own full-resolution lines
        (or luminance, for gray-input models) over the model's colors; otherwise, and always
        without ``detail``, the model's output is scaled back up as it is.
        """
        size = self.image_size
        height, width = tf.shape(sketch)[1], tf.shape(sketch)[2]
        scale = tf.cast(size, tf.float32) / tf.cast(tf.maximum(height, width), tf.float32)
        scaled_h = tf.maximum(1, tf.cast(tf.round(tf.cast(height, tf.float32) * scale), tf.int32))
        scaled_w = tf.maximum(1, tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32))
        x = to_unit_range(_resize(tf.cast(sketch, tf.float32), scaled_h, scaled_w))
        padded_h = (scaled_h + size - 1) // size * size
        padded_w = (scaled_w + size - 1) // size * size
        padding = [[0, 0], [0, padded_h - scaled_h], [0, padded_w - scaled_w], [0, 0]]
        # White paper (1.0) around the drawing: what the model saw at the borders in training.
        base = tf.pad(x, padding, constant_values=1.0)
        if palette is not None:
            palette = to_unit_range(palette)
        if hints is not None:  # nearest keeps hint colors and the 0/1 mask exact; no hint outside
            hints = tf.pad(tf.image.resize(hints, tf.stack([scaled_h, scaled_w]), method="nearest"), padding)
        model_input = assemble_input(base, self.spec, palette, hints)
        y = tf.cast(self.generator(model_input, training=False), tf.float32)[:, :scaled_h, :scaled_w]
        if not detail:
            return {"color": _resized_uint8(y, height, width)}
        upscaled = tf.logical_or(height > scaled_h, width > scaled_w)
        transfer = luminance_detail if self.spec.input_mode == "gray" else line_detail
        color = tf.cond(
            upscaled,
            lambda: to_uint8(transfer(y, x, tf.cast(sketch, tf.float32))),
            lambda: _resized_uint8(y, height, width),
        )
        return {"color": color}


# --------------------------------------------------------------------------- full resolution

LINE_WEIGHT_POWER = 4.0  # paper-ness ** 4: a half-gray line pixel counts 1/16 as much as paper
FLAT_COLOR_WINDOW = 5  # model pixels averaged to carry colors across the lines the model drew


def _gray(images: tf.Tensor) -> tf.Tensor:
    """Rec. 601 luminance [B, H, W, 1] of RGB images, same range."""
    return tf.tensordot(images, tf.constant([0.299, 0.587, 0.114]), axes=[[3], [0]])[..., None]


def flat_colors(color: tf.Tensor, model_sketch: tf.Tensor) -> tf.Tensor:
    """The model's colors [B, h, w, 3] in [0, 1] with its own (blurred) lines filled in from beside them.

    A normalized convolution: each pixel becomes the average of its window's colors weighted by
    how much paper the sketch has there, so line pixels take the colors of the areas they separate.
    """
    weight = tf.clip_by_value(_gray(model_sketch) * 0.5 + 0.5, 0.0, 1.0) ** LINE_WEIGHT_POWER
    pool = lambda t: tf.nn.avg_pool2d(t, FLAT_COLOR_WINDOW, 1, "SAME")  # noqa: E731
    eps = 1e-3  # where the window is all lines (solid black areas), the model's own color stays
    return (pool(color * weight) + eps * color) / (pool(weight) + eps)


def line_detail(y: tf.Tensor, model_sketch: tf.Tensor, sketch: tf.Tensor) -> tf.Tensor:
    """[-1, 1] colors at the sketch's full size: the model's flat colors under the sketch's own lines.

    ``y`` and ``model_sketch`` [B, h, w, 3] in [-1, 1] at the model's resolution, ``sketch``
    [B, H, W, 3] float 0..255 at full size. The lines are laid over the upsampled colors with a
    multiply blend, as a line layer over a color layer: white paper keeps the color, a line is
    as dark as it is drawn, and no line is blurred by the upscale.
    """
    height, width = tf.shape(sketch)[1], tf.shape(sketch)[2]
    colors = flat_colors(y * 0.5 + 0.5, model_sketch)
    upsampled = tf.image.resize(colors, tf.stack([height, width]), method="bilinear")
    return tf.clip_by_value(upsampled * _gray(sketch / 255.0), 0.0, 1.0) * 2.0 - 1.0


def luminance_detail(y: tf.Tensor, model_sketch: tf.Tensor, gray: tf.Tensor) -> tf.Tensor:
    """[-1, 1] colors at full size for gray-input models: the input's luminance, the model's chroma."""
    del model_sketch  # the gray input has no lines to fill in
    height, width = tf.shape(gray)[1], tf.shape(gray)[2]
    yuv = tf.image.rgb_to_yuv(tf.clip_by_value(y * 0.5 + 0.5, 0.0, 1.0))
    chroma = tf.image.resize(yuv[..., 1:], tf.stack([height, width]), method="bilinear")
    full = tf.concat([_gray(gray / 255.0), chroma], axis=-1)
    return tf.clip_by_value(tf.image.yuv_to_rgb(full), 0.0, 1.0) * 2.0 - 1.0


def export_generator(generator: keras.Model, out_dir: str | Path, image_size: int, spec=None) -> Path:
    """Write ``OUT_DIR/saved_model`` (serving signature), ``OUT_DIR/generator.keras`` and the
    size and conditioning the ``.keras`` file is run with, ``OUT_DIR/export.json``.

    ``spec`` (a ``ConditioningSpec``) adds the palette / hints inputs the generator needs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = Colorizer(generator, image_size, spec)
    signatures = {"serving_default": module.serve, "plain_upscale": module.serve_plain}
    tf.saved_model.save(module, str(out_dir / SAVED_MODEL_DIR), signatures=signatures)
    generator.save(out_dir / KERAS_FILE)
    save_json(ExportSettings(image_size, dataclasses.asdict(module.spec)), out_dir / EXPORT_SETTINGS_FILE)
    return out_dir


def saved_model_path(path: str | Path) -> Path:
    """Accept a run dir, an export dir or a SavedModel dir; return the SavedModel dir."""
    path = Path(path)
    for candidate in (path, path / SAVED_MODEL_DIR, path / "export" / SAVED_MODEL_DIR):
        if (candidate / "saved_model.pb").is_file():
            return candidate
    raise FileNotFoundError(
        f"{path}: no SavedModel found (looked for saved_model.pb in it, in {SAVED_MODEL_DIR}/ and in "
        f"export/{SAVED_MODEL_DIR}/); train a model or run `python -m sketch2color.export RUN_DIR` first"
    )


class ExportError(ValueError):
    """A SavedModel folder that cannot be loaded (damaged files), with a message naming it."""


def load_colorizer(path: str | Path):
    """Load an exported colorizer; call ``colorizer.serve(uint8 images)["color"]``.

    ``path``: a run dir, an export dir, a SavedModel dir, or a ``.keras`` generator file (see
    :func:`colorizer_from_keras_file`). FileNotFoundError when there is no model, ExportError
    when its files are damaged or unsafe.
    """
    if Path(path).suffix == ".keras" and Path(path).is_file():
        return colorizer_from_keras_file(path)
    folder = saved_model_path(path)
    try:
        return tf.saved_model.load(str(folder))
    # TensorFlow's errors for damaged files: OSError "Cannot parse file" (garbled saved_model.pb),
    # ValueError (an empty one), IndexError "Read less bytes than requested" (truncated variables).
    except (tf.errors.OpError, OSError, ValueError, IndexError) as error:
        raise ExportError(
            f"{folder}: damaged SavedModel ({_first_line(error)}); export it again with "
            "`python -m sketch2color.export RUN_DIR`"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def load_keras_generator(path: str | Path) -> keras.Model:
    """A generator saved as ``.keras``, loaded with ``safe_mode=True`` (no code from the file runs)."""
    try:
        return keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error):
            raise ExportError(
                f"{path}: refused: loading this .keras file would run code stored in it (a Lambda "
                "layer); sketch2color loads models with safe_mode=True. If you trust its author, "
                "load it yourself with keras.saving.load_model(path, safe_mode=False)"
            ) from None
        raise ExportError(f"{path}: not a loadable .keras model ({_first_line(error)})") from None
    except (OSError, zipfile.BadZipFile, KeyError, TypeError) as error:
        raise ExportError(f"{path}: not a loadable .keras model ({_first_line(error)})") from None


def spec_from_channels(channels: int) -> ConditioningSpec:
    """The conditioning a generator's input width implies: 3 sketch (+ 3 per palette color) (+ 4 hints)."""
    for hints in (False, True):
        palette_channels = channels - 3 - (4 if hints else 0)
        if palette_channels >= 0 and palette_channels % 3 == 0:
            colors = palette_channels // 3
            return ConditioningSpec(palette=colors > 0, hints=hints, n_colors=colors or 1)
    raise ValueError(f"{channels} input channels: not 3 + 3 x colors (+ 4 for hints)")


def colorizer_from_keras_file(path: str | Path, image_size: int | None = None) -> Colorizer:
    """A Colorizer around a ``.keras`` generator.

    Beside an export's ``export.json`` the training size and conditioning are the export's; a
    file on its own is read from its input shape (channels: sketch, palette, hints) and runs at
    ``image_size`` or, when that is not known, at the pix2pix size of 256 with a warning.
    """
    generator = load_keras_generator(path)
    shape = generator.input_shape
    if not isinstance(shape, tuple) or len(shape) != 4 or shape[-1] is None:
        raise ExportError(f"{path}: not an image generator (input shape {shape})")
    settings_file = Path(path).with_name(EXPORT_SETTINGS_FILE)
    if settings_file.is_file():
        try:
            settings = load_json(ExportSettings, settings_file)
            spec, size = ConditioningSpec(**settings.conditioning), image_size or int(settings.image_size)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ExportError(f"{settings_file}: damaged export settings ({error}); export again") from None
    else:
        try:
            spec = spec_from_channels(int(shape[-1]))
        except ValueError as error:
            raise ExportError(f"{path}: not a sketch2color generator: {error}") from None
        size = image_size or shape[1]
        if not size:
            size = UNKNOWN_TRAINING_SIZE
            log.warning("%s: training size unknown; colorizing at %d px", path, size)
    if input_channels(spec) != shape[-1]:
        raise ExportError(
            f"{path}: the generator takes {shape[-1]} input channels, {settings_file.name} says "
            f"{input_channels(spec)}"
        )
    return Colorizer(generator, int(size), spec)


def export_run(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Rebuild a run's generator from its config, restore its latest checkpoint, and export it."""
    run_dir = Path(run_dir)
    generator, config, _ = runs.restore_generator(run_dir)
    out = out_dir or run_dir / runs.EXPORT_DIR
    return export_generator(generator, out, config.data.image_size, conditioning_spec(config.data))
