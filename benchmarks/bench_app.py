"""The app's latency: from uploading a sketch to its colors on the page, at 512 and 1024 px.

    python benchmarks/bench_app.py [--model runs/pix2pix-embedded] [--sizes 512 1024] [--repeats 5]

The app is served in this process on a free loopback port and driven through ``gradio_client``,
the same two calls the page makes after an upload (``/prepare``: upload, decode, checks, the
hint canvas; ``/colorize``: the model at its training size, full-resolution lines, PNG encode,
the result downloaded). Reported per size: the median of ``--repeats`` uploads after one warm-up,
with the range, next to the model call alone (``handlers.colorize`` in process) so the HTTP and
image-encoding share is visible. The target is under 1.5 s at 1024 px for the default model.

Without ``--model`` and without the default run, the default run's generator (the README's
``python -m sketch2color.train``: pix2pix at 128 px) is built with random weights and exported:
latency does not depend on what the weights learned.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from bench_inference import default_export  # noqa: E402 (the benchmarks folder is on sys.path)
from gradio_client import Client, handle_file  # noqa: E402
from PIL import Image  # noqa: E402

from sketch2color.app import handlers, ui  # noqa: E402
from sketch2color.cli.app import DEFAULT_MODEL  # noqa: E402
from sketch2color.data.embedded import ensure_embedded_dataset  # noqa: E402
from sketch2color.data.files import list_images, read_pair  # noqa: E402

TARGET_SECONDS = 1.5  # at 1024 px, the default model, 2 CPU cores


def sketch_at(size: int, folder: Path) -> Path:
    """An embedded validation sketch scaled to ``size`` px, saved as PNG (what a user uploads)."""
    pair = list_images(Path(ensure_embedded_dataset()) / "val")[0]
    sketch, _ = read_pair(pair)
    path = folder / f"sketch_{size}.png"
    Image.fromarray(sketch).resize((size, size), Image.LANCZOS).save(path)
    return path


def upload_to_colors(client: Client, sketch: Path) -> float:
    """Seconds from the upload to the colored image on this side: the page's two calls."""
    start = time.perf_counter()
    editor, _, _ = client.predict(handle_file(sketch), "auto", 40, None, api_name="/prepare")
    canvas = {"background": handle_file(editor["background"]), "layers": [], "composite": None}
    (_, colored), _, _ = client.predict(canvas, "lines", api_name="/colorize")
    Image.open(colored).load()
    return time.perf_counter() - start


def model_only(model: handlers.AppModel, sketch: Path) -> float:
    image = handlers.read_upload(sketch)
    start = time.perf_counter()
    handlers.colorize(model, image)
    return time.perf_counter() - start


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help=f"run or export (default: {DEFAULT_MODEL}, else a random default model)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    path = args.model or DEFAULT_MODEL
    source = path
    if not args.model and not Path(path).exists():
        path, source = default_export(work / "model"), "the default run's architecture, random weights"
    model = handlers.load_app_model(path)
    print(f"model: {source} ({model.describe()})")
    demo = ui.serve(ui.build_app(model), block=False)
    try:
        client = Client(demo.local_url, verbose=False)
        print(f"{'size':>6}  {'upload -> colors (median, range)':>34}  {'model call alone':>26}  share")
        results = {}
        for size in args.sizes:
            sketch = sketch_at(size, work)
            upload_to_colors(client, sketch)  # warm-up: the first call at a size traces the graph
            model_only(model, sketch)
            total = [upload_to_colors(client, sketch) for _ in range(args.repeats)]
            alone = [model_only(model, sketch) for _ in range(args.repeats)]
            results[size] = statistics.median(total)
            share = statistics.median(alone) / statistics.median(total)
            print(f"{size:>6}  {spread(total):>34}  {spread(alone):>26}  {share:.0%}")
    finally:
        demo.close()
    if 1024 in results:
        verdict = "meets" if results[1024] < TARGET_SECONDS else "misses"
        print(
            f"1024 px: {results[1024]:.2f} s, {verdict} the {TARGET_SECONDS} s target "
            f"({results[1024] / TARGET_SECONDS:.2f}x of it)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
