"""``python -m sketch2color.app [--model RUN_OR_EXPORT]``: the colorization app in the browser.

Serves on 127.0.0.1 (this machine only) unless ``--host`` says otherwise; no public share link
unless ``--share``. Uploads are capped in bytes and pixels before they are decoded.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from sketch2color.cli.arguments import bounded
from sketch2color.config import RunConfig

try:
    from sketch2color.app import ui  # optional: the app extra (Gradio)
except ModuleNotFoundError as missing:
    ui, MISSING = None, missing.name
from sketch2color.app.handlers import AppInputError, UploadLimits, load_app_model

DEFAULT_MODEL = RunConfig().run_dir  # where the README's training command leaves its run


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.app",
        description="Colorize sketches in the browser: hints, palettes, full-resolution PNGs, batches.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model",
        help=f"run directory, export folder or .keras file (default: {DEFAULT_MODEL}, the default "
        "training run; without one the page says how to train it)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: every network)")
    parser.add_argument(
        "--port", type=bounded(int, minimum=0, maximum=65535), default=7860, help="0: any free port"
    )
    parser.add_argument(
        "--share", action="store_true", help="also open a public gradio.live link (off: local only)"
    )
    parser.add_argument(
        "--max-upload-mb", type=bounded(float, above=0, maximum=1024), default=25, help="largest upload file"
    )
    parser.add_argument(
        "--max-side",
        type=bounded(int, minimum=16, maximum=16384),
        default=4096,
        help="largest upload in pixels: at most MAX_SIDE x MAX_SIDE pixels (checked before decoding)",
    )
    return parser.parse_args(argv)


def is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (127.x, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv=None) -> int:
    args = parse_args(argv)
    if ui is None:
        print(
            f'error: the app needs Gradio ({MISSING} is not installed): pip install -e ".[app]"',
            file=sys.stderr,
        )
        return 2
    limits = UploadLimits(max_bytes=int(args.max_upload_mb * 2**20), max_pixels=args.max_side**2)
    model, problem = None, ""
    try:
        model = load_app_model(args.model or DEFAULT_MODEL)
    except AppInputError as error:
        if args.model:  # a model asked for by name must be there
            print(f"error: --model {args.model}: {error}", file=sys.stderr)
            return 2
        problem = f"No model at {Path(DEFAULT_MODEL)} (the default)."
        print(f"warning: {problem} The page says how to train one.", file=sys.stderr)
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host}: the app is reachable from other machines and has no login",
            file=sys.stderr,
        )
    if args.share:
        print("warning: --share: anyone with the link can use the app", file=sys.stderr)
    ui.serve(ui.build_app(model, limits, problem), args.host, args.port or None, args.share, limits)
    return 0
