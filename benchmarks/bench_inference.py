"""The exported SavedModel against the in-memory generator, and the colorize CLI's start-up.

    python benchmarks/bench_inference.py [--model RUN_OR_EXPORT] [--size 1024] [--repeats 5]

For one ``--size`` px sketch, side by side, rounds interleaved, median of ``--repeats`` after a
warm-up:

* the generator in memory under ``tf.function`` on the sketch already resized to the training
  size (the model's own cost, the floor);
* the SavedModel's ``plain_upscale`` (resize in, pad, generator, crop, resize out, uint8) and
  ``serving_default`` (the same plus the full-resolution line layer), on the full-size sketch.

Target: ``plain_upscale`` within 1.1x of the floor. Then the start-up of ``python -m
sketch2color.colorize`` on one sketch (a fresh process: imports, loading, one image), and the
import and load times alone. Without ``--model`` the default run's architecture is built with
random weights and exported (timing does not depend on the weights).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from sketch2color import runs  # noqa: E402
from sketch2color.cli.train import build_parser, config_from_args  # noqa: E402
from sketch2color.data.pipeline import conditioning_spec  # noqa: E402
from sketch2color.data.pixels import to_unit_range  # noqa: E402
from sketch2color.export import KERAS_FILE, export_generator, load_colorizer, saved_model_path  # noqa: E402
from sketch2color.export.colorizer import load_keras_generator  # noqa: E402

TARGET_RATIO = 1.1


def default_export(folder: Path) -> Path:
    """The default run's generator (the README's train command), random weights, exported to ``folder``."""
    config, _ = config_from_args(build_parser().parse_args([]))
    generator = runs.build_generator_for(config)
    return export_generator(generator, folder, config.data.image_size, conditioning_spec(config.data))


def seconds(function, repeats: int) -> list[float]:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        values.append(time.perf_counter() - start)
    return values


def fresh_process_seconds(arguments: list[str], repeats: int) -> float:
    """Median wall time of ``python ARGUMENTS`` in new processes."""
    return statistics.median(
        seconds(
            lambda: subprocess.run([sys.executable, *arguments], check=True, capture_output=True), repeats
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run or export (default: a random default-architecture export)")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    model = args.model or default_export(work / "export")
    colorizer = load_colorizer(model)
    size = int(colorizer.image_size.numpy())
    # The same weights as a Keras model in memory: the export's generator.keras beside its SavedModel.
    generator = load_keras_generator(saved_model_path(model).parent / KERAS_FILE)
    rng = np.random.default_rng(0)
    sketch = np.full((1, args.size, args.size, 3), 255, np.uint8)
    for _ in range(60):  # some strokes, so no path can shortcut a blank page
        y, x = rng.integers(0, args.size - 40, 2)
        sketch[0, y : y + 3, x : x + 40] = 0
    sketch_tensor = tf.constant(sketch)
    resized = to_unit_range(tf.image.resize(tf.cast(sketch_tensor, tf.float32), (size, size), antialias=True))
    floor = tf.function(lambda x: generator(x, training=False))
    contenders = {
        "generator in memory, resized input": lambda: floor(resized).numpy(),
        "SavedModel plain_upscale": lambda: colorizer.serve_plain(sketch_tensor)["color"].numpy(),
        "SavedModel serving_default (lines)": lambda: colorizer.serve(sketch_tensor)["color"].numpy(),
    }
    for run in contenders.values():
        run()  # warm-up: traces
    times = {name: [] for name in contenders}
    for _ in range(args.repeats):  # interleaved rounds
        for name, run in contenders.items():
            times[name] += seconds(run, 1)
    base = statistics.median(times["generator in memory, resized input"])
    print(f"{args.size} px sketch, model trained at {size} px (median of {args.repeats}, range):")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:<38} {median * 1000:8.1f} ms ({min(values) * 1000:.1f}-{max(values) * 1000:.1f})  "
            f"{median / base:5.2f}x"
        )
    ratio = statistics.median(times["SavedModel plain_upscale"]) / base
    print(f"plain_upscale / in-memory: {ratio:.2f}x (target <= {TARGET_RATIO}x)")
    sketch_file = work / "sketch.png"
    Image.fromarray(sketch[0]).save(sketch_file)
    repeats = max(1, args.repeats // 2)
    import_only = fresh_process_seconds(["-c", "import sketch2color.export"], repeats)
    load_only = fresh_process_seconds(
        ["-c", f"from sketch2color.export import load_colorizer; load_colorizer({str(model)!r})"], repeats
    )
    cli = fresh_process_seconds(
        ["-m", "sketch2color.colorize", str(sketch_file), "--model", str(model), "--out", str(work / "out")],
        repeats,
    )
    print(
        f"fresh processes (median of {repeats}): import sketch2color.export {import_only:.2f} s; "
        f"import + load the model {load_only:.2f} s; python -m sketch2color.colorize on one "
        f"{args.size} px sketch {cli:.2f} s"
    )


if __name__ == "__main__":
    main()
