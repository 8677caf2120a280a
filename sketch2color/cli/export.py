"""``python -m sketch2color.export RUN_DIR [OUT_DIR]``: export a run's latest checkpoint.

Writes ``OUT_DIR/saved_model`` (uint8 sketch in, uint8 color out, any size) and
``OUT_DIR/generator.keras``; OUT_DIR defaults to ``RUN_DIR/export``.
"""

from __future__ import annotations

import argparse
import sys

from sketch2color.cli.errors import storage_problem
from sketch2color.config import ConfigError
from sketch2color.data.files import output_dir_problem, printable
from sketch2color.export import KERAS_FILE, SAVED_MODEL_DIR, export_run
from sketch2color.runs import CheckpointError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.export", description="Export a run's generator as a SavedModel."
    )
    parser.add_argument("run_dir", help="training run directory (holds config.json and checkpoints/)")
    parser.add_argument("out_dir", nargs="?", help="where to write the export (default: RUN_DIR/export)")
    args = parser.parse_args(argv)
    if args.out_dir and (problem := output_dir_problem(args.out_dir)):
        print(f"error: OUT_DIR {printable(args.out_dir)}: {problem}", file=sys.stderr)
        return 2
    try:
        out = export_run(args.run_dir, args.out_dir)
    except (FileNotFoundError, CheckpointError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if (problem := storage_problem(error)) is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"exported: {out / SAVED_MODEL_DIR} and {out / KERAS_FILE}")
    return 0
