"""Check a pair dataset folder: counts, sizes, bad files, and a preview grid of split pairs.

    python data_scripts/verify_dataset.py ~/data/anime-sketch-colorization-pair --preview preview.png

Exit code 0 when every file is a usable pair, 1 when some are bad (they are listed), 2 when the
folder itself cannot be used.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image
from tqdm import tqdm

from sketch2color.cli.arguments import bounded
from sketch2color.data.files import (
    DatasetError,
    check_pair_file,
    find_pair_files,
    output_file_problem,
    printable,
    read_pair,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "root", help="dataset folder (Kaggle train/ + val/ layout, or a flat folder of pairs)"
    )
    parser.add_argument(
        "--preview", default="dataset_preview.png", help="where to write the preview grid PNG ('' for none)"
    )
    parser.add_argument(
        "--samples", type=bounded(int, minimum=1), default=6, help="pairs shown in the preview grid"
    )
    parser.add_argument(
        "--sketch-side", choices=["left", "right"], default="right", help="which half is the sketch"
    )
    parser.add_argument(
        "--val-fraction",
        type=bounded(float, minimum=0.0, below=1.0),
        default=0.1,
        help="validation share for flat folders, in [0, 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser.parse_args(argv)


def summarize(root: Path, val_fraction: float) -> dict:
    """Counts per split, image sizes, and the bad files with their problems."""
    splits = find_pair_files(root, val_fraction)
    summary = {"root": str(root), "splits": {}, "bad": []}
    for split, files in splits.items():
        sizes: collections.Counter = collections.Counter()
        good = 0
        for path in tqdm(files, desc=f"checking {split}", unit="file", disable=len(files) < 200):
            problem = check_pair_file(path)
            if problem:
                summary["bad"].append({"file": printable(path), "problem": problem})
                continue
            good += 1
            with Image.open(path) as image:
                sizes[f"{image.size[0]}x{image.size[1]}"] += 1
        summary["splits"][split] = {"files": len(files), "good": good, "sizes": dict(sizes.most_common())}
    return summary


def write_preview(root: Path, out: Path, samples: int, sketch_side: str, val_fraction: float) -> Path:
    """A grid of a few pairs after splitting: sketch (model input) above color (target)."""
    files = [p for split in find_pair_files(root, val_fraction).values() for p in split]
    chosen = [p for p in files if check_pair_file(p) is None][:samples]
    fig = Figure(figsize=(2.2 * len(chosen), 4.6))  # a file-only figure: no pyplot, no window
    axes = fig.subplots(2, len(chosen), squeeze=False)
    for column, path in enumerate(chosen):
        sketch, color = read_pair(path, sketch_side)
        for row, (image, label) in enumerate(((sketch, "sketch (input)"), (color, "color (target)"))):
            axes[row, column].imshow(image)
            title = f"{printable(path.name)}\n{label}" if row == 0 else label
            axes[row, column].set_title(title, fontsize=7)
            axes[row, column].axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    root = Path(args.root).expanduser()
    try:
        summary = summarize(root, args.val_fraction)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    usable = sum(info["good"] for info in summary["splits"].values())
    if args.preview:
        preview = Path(args.preview)
        problem = output_file_problem(preview)
        if problem:
            print(f"error: --preview {printable(preview)}: {problem}", file=sys.stderr)
            return 2
        if usable:
            preview.parent.mkdir(parents=True, exist_ok=True)
            summary["preview"] = str(
                write_preview(root, preview, args.samples, args.sketch_side, args.val_fraction)
            )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"dataset: {printable(root)}")
        for split, info in summary["splits"].items():
            sizes = ", ".join(f"{size} x{count}" for size, count in info["sizes"].items()) or "-"
            print(f"  {split:5s}: {info['files']} files, {info['good']} usable pairs; sizes: {sizes}")
        for bad in summary["bad"]:
            print(f"  bad: {bad['file']}: {bad['problem']}")
        if "preview" in summary:
            print(f"preview grid: {summary['preview']}")
        elif args.preview:
            print("no preview grid: no usable pair")
    return 1 if summary["bad"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
