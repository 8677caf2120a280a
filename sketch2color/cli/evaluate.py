"""``python -m sketch2color.evaluate --model RUN_DIR_OR_EXPORT [--data FOLDER] [--split val|train|all] ...``

Scores a colorizer (PSNR, SSIM, L1, L2, FID, KID) next to trivial baselines and writes
``report.json``, ``report.md`` and ``samples.png``; the work is
:func:`sketch2color.evaluation.evaluate_model`. Exit code 2 on a user error (bad path, no data,
no Inception weights offline), with a one-line message.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sketch2color.cli.arguments import bounded
from sketch2color.cli.errors import storage_problem
from sketch2color.config import ConfigError
from sketch2color.data.files import DatasetError
from sketch2color.evaluation.evaluate import SPLITS, EvaluationError, evaluate_model
from sketch2color.evaluation.report import REPORT_JSON, REPORT_MD, SAMPLES_PNG, markdown_report
from sketch2color.export import ExportError
from sketch2color.models.pretrained import PretrainedWeightsUnavailable
from sketch2color.runs import CheckpointError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.evaluate",
        description=(
            "Score a colorizer (PSNR, SSIM, L1, L2, FID, KID) against trivial baselines on pair images."
        ),
    )
    parser.add_argument(
        "--model",
        required=True,
        help="run directory, export directory, SavedModel directory or .keras generator file (safe mode)",
    )
    parser.add_argument("--data", help="pair folder (default: the run's own dataset)")
    parser.add_argument(
        "--split", choices=SPLITS, default="val", help="which split of the folder (default: val)"
    )
    parser.add_argument(
        "--image-size", type=int, help="evaluation size in px (default: the model's, else 256)"
    )
    parser.add_argument("--max-images", type=int, help="evaluate only the first N images of the split")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--fid", action=argparse.BooleanOptionalAction, default=True, help="compute FID and KID (default: on)"
    )
    parser.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="InceptionV3 no-top weights file (default: the Keras cache, downloaded there once if missing)",
    )
    parser.add_argument("--samples", type=bounded(int, minimum=1), default=6, help="rows of samples.png")
    parser.add_argument(
        "--out", help="output folder (default: RUN_DIR/evaluation-SPLIT, else ./evaluation-NAME-SPLIT)"
    )
    args = parser.parse_args(argv)
    if args.image_size is not None and args.image_size < 16:
        parser.error(f"--image-size must be >= 16 (SSIM uses an 11x11 window), got {args.image_size}")
    if args.max_images is not None and args.max_images < 1:
        parser.error(f"--max-images must be >= 1, got {args.max_images}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    return args


def run(args: argparse.Namespace) -> dict:
    """Evaluate as the command line asked, print the table; returns the report written to report.json."""
    report, out = evaluate_model(
        args.model,
        data=args.data,
        split=args.split,
        image_size=args.image_size,
        max_images=args.max_images,
        batch_size=args.batch_size,
        fid=args.fid,
        inception_weights=args.inception_weights,
        samples=args.samples,
        out=args.out,
    )
    print(markdown_report(report))
    print(f"wrote {out / REPORT_JSON}, {out / REPORT_MD}, {out / SAMPLES_PNG}", file=sys.stderr)
    return report


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        run(args)
    except (
        EvaluationError,
        PretrainedWeightsUnavailable,
        DatasetError,
        ConfigError,
        CheckpointError,
        ExportError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if (problem := storage_problem(error)) is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0
