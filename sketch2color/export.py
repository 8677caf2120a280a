"""Export a trained generator as a SavedModel that colorizes uint8 sketches of any size.

    python -m sketch2color.export RUN_DIR [OUT_DIR]

The serving signature takes ``sketch``: uint8 [batch, height, width, 3] and returns ``color``:
uint8 of the same shape. Inside the graph the sketch is scaled so that its longer side equals
the training image size (the scale the model learned), padded with white paper to a multiple of
that size, colorized with ``training=False`` (no dropout, frozen batch-norm statistics), cropped
and scaled back to the input size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import keras
import tensorflow as tf

SAVED_MODEL_DIR = "saved_model"
KERAS_FILE = "generator.keras"


def _resize(images: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """Antialiased bilinear resize that leaves same-size images untouched."""
    same = tf.logical_and(tf.equal(tf.shape(images)[1], height), tf.equal(tf.shape(images)[2], width))
    return tf.cond(same, lambda: images, lambda: tf.image.resize(images, tf.stack([height, width]), antialias=True))


class Colorizer(tf.Module):
    """The generator wrapped with uint8 in/out, any-size handling, and its training size.

    Models trained with conditioning take more inputs: ``palette`` uint8 [B, n_colors, 3]
    (a reference's K-means colors, or the user's), and ``hints`` float32 [B, H, W, 4] at the
    sketch's size (hint colors in [-1, 1] plus a 0/1 mask, see
    ``sketch2color.conditioning.hints_from_image``; zeros mean "no hints").
    """

    def __init__(self, generator: keras.Model, image_size: int, spec=None):
        super().__init__(name="colorizer")
        self.generator = generator
        self.image_size = tf.Variable(image_size, trainable=False, dtype=tf.int32, name="image_size")
        palette_colors = spec.n_colors if spec is not None and spec.palette else 0
        self.palette_colors = tf.Variable(palette_colors, trainable=False, name="palette_colors")
        self.uses_hints = tf.Variable(bool(spec is not None and spec.hints), trainable=False, name="uses_hints")
        signature = [tf.TensorSpec([None, None, None, 3], tf.uint8, name="sketch")]
        if palette_colors:
            signature.append(tf.TensorSpec([None, palette_colors, 3], tf.uint8, name="palette"))
        if spec is not None and spec.hints:
            signature.append(tf.TensorSpec([None, None, None, 4], tf.float32, name="hints"))
        uses_palette, uses_hints = bool(palette_colors), bool(spec is not None and spec.hints)

        def serve(sketch, *extra):
            palette = extra[0] if uses_palette else None
            hints = extra[-1] if uses_hints else None
            return self._colorize(sketch, palette, hints)

        self.serve = tf.function(serve, input_signature=signature)

    def _colorize(self, sketch, palette, hints) -> dict[str, tf.Tensor]:
        """uint8 sketches [B, H, W, 3] (+ conditioning) -> {"color": uint8 [B, H, W, 3]}."""
        size = self.image_size
        height, width = tf.shape(sketch)[1], tf.shape(sketch)[2]
        scale = tf.cast(size, tf.float32) / tf.cast(tf.maximum(height, width), tf.float32)
        scaled_h = tf.maximum(1, tf.cast(tf.round(tf.cast(height, tf.float32) * scale), tf.int32))
        scaled_w = tf.maximum(1, tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32))
        x = _resize(tf.cast(sketch, tf.float32), scaled_h, scaled_w) / 127.5 - 1.0
        padded_h = (scaled_h + size - 1) // size * size
        padded_w = (scaled_w + size - 1) // size * size
        padding = [[0, 0], [0, padded_h - scaled_h], [0, padded_w - scaled_w], [0, 0]]
        # White paper (1.0) around the drawing: what the model saw at the borders in training.
        parts = [tf.pad(x, padding, constant_values=1.0)]
        if palette is not None:  # constant planes, one per palette color channel
            colors = tf.reshape(tf.cast(palette, tf.float32) / 127.5 - 1.0, [tf.shape(palette)[0], 1, 1, -1])
            parts.append(tf.broadcast_to(colors, tf.stack([tf.shape(x)[0], padded_h, padded_w, tf.shape(colors)[-1]])))
        if hints is not None:  # nearest keeps hint colors and the 0/1 mask exact; no hint outside
            hints = tf.image.resize(hints, tf.stack([scaled_h, scaled_w]), method="nearest")
            parts.append(tf.pad(hints, padding))
        x = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
        y = tf.cast(self.generator(x, training=False), tf.float32)[:, :scaled_h, :scaled_w]
        y = _resize(y, height, width)
        return {"color": tf.cast(tf.clip_by_value(tf.round((y + 1.0) * 127.5), 0, 255), tf.uint8)}


def export_generator(generator: keras.Model, out_dir: str | Path, image_size: int, spec=None) -> Path:
    """Write ``OUT_DIR/saved_model`` (serving signature) and ``OUT_DIR/generator.keras``.

    ``spec`` (a ``ConditioningSpec``) adds the palette / hints inputs the generator needs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = Colorizer(generator, image_size, spec)
    tf.saved_model.save(module, str(out_dir / SAVED_MODEL_DIR), signatures={"serving_default": module.serve})
    generator.save(out_dir / KERAS_FILE)
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


def load_colorizer(path: str | Path):
    """Load an exported colorizer; call ``colorizer.serve(uint8 images)["color"]``."""
    return tf.saved_model.load(str(saved_model_path(path)))


def export_run(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Rebuild a run's generator from its config, restore its latest checkpoint, and export it."""
    from sketch2color.config import RunConfig, load_json
    from sketch2color.training import build_generator_for, latest_checkpoint

    run_dir = Path(run_dir)
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no config.json)")
    config = load_json(RunConfig, config_file)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint to export yet")
    generator = build_generator_for(config)
    tf.train.Checkpoint(generator=generator).restore(checkpoint).expect_partial()
    from sketch2color.data import conditioning_spec

    return export_generator(generator, out_dir or run_dir / "export", config.data.image_size, conditioning_spec(config.data))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sketch2color.export", description="Export a run's generator as a SavedModel.")
    parser.add_argument("run_dir", help="training run directory (holds config.json and checkpoints/)")
    parser.add_argument("out_dir", nargs="?", help="where to write the export (default: RUN_DIR/export)")
    args = parser.parse_args(argv)
    try:
        out = export_run(args.run_dir, args.out_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"exported: {out / SAVED_MODEL_DIR} and {out / KERAS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
