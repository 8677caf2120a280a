"""Presets on real anime illustrations: the same CPU budget each, scored on real validation pairs.

    python benchmarks/bench_real_art.py [--budget-seconds 2400] [--image-size 128] [--presets ...]
        [--eval-images 300] [--faces ../shared/data/anime_faces] [--quick]

1. Pairs: the illustrations of ``--faces`` (3,400 real 256x256 head-and-shoulders crops, see
   their SOURCES.md) are made into pairs once, exactly as a user makes them from their own art:
   ``data_scripts/make_pairs.py --method xdog --size 256 --val-fraction 0.09`` (the project's
   hash split: about 3,100 train / 300 val), cached under the package's cache folder.
2. Training and scoring: ``bench_presets`` (the same code as the embedded-data comparison) trains
   each preset for ``--budget-seconds`` of the process's CPU time after its first (tracing) step
   on the train pairs, then scores it on the first ``--eval-images`` val pairs like ``evaluate``
   (FID/KID too when the InceptionV3 weights are on disk: the Keras cache or
   ``--inception-weights FILE``; the benchmark never downloads them, and says so in the table
   when they are absent).
   Baselines on the same images: the sketch as the output, the flat mean color, and the mean
   training image (the pixel-wise mean of the training targets).
3. Interactive scores (Zhang et al. 2017, "Real-Time User-Guided Image Colorization"): hint models
   get 0, 1, 2, 5, 10, 20, 50 hints taken from the ground truth (random hint cells, each the true
   cell color); palette models the true image's palette and another image's, on the first
   ``--interactive-images`` val pairs (100: every hint count is a full pass). Plotted to
   ``real_art_hints.png``. The report is rewritten after every preset, so a stopped run keeps
   the presets it finished.
4. ``real_art_samples.png``: 8 val sketches | each preset | truth. It is made from the real
   images, so it stays on this machine (git-ignored): their artists' rights are not ours.

Run it on an otherwise idle machine. CPU time does not protect the budget from other load: with
more busy threads than cores, TensorFlow's thread pools spin while they wait, and the spinning
counts as the process's CPU time (a pix2pix run with tests and other benchmarks beside it got
548 steps in the budget, against 740 alone on the same machine).

``--merge`` adds this run's presets to the report already at ``--out`` (made with the same
settings), so a long comparison can be run in parts.

``--quick`` (for a smoke run): 200 faces, 64 px, a 10 s budget, two presets, 16 images. Without
the faces folder the script says where it expects them and exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench_presets  # noqa: E402  (the sibling script: one implementation of train + score)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from sketch2color.data.conditioning import extract_palette  # noqa: E402
from sketch2color.data.embedded import default_cache_dir  # noqa: E402
from sketch2color.data.files import list_images  # noqa: E402
from sketch2color.data.pixels import to_uint8  # noqa: E402
from sketch2color.evaluation import evaluate, metrics  # noqa: E402
from sketch2color.models.pretrained import keras_cache_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared" / "data" / "anime_faces"
RESULTS = REPO / "benchmarks" / "results"
HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50)
HINT_CELL = 4  # pixels per hint cell at the model's size, as in training
DEFAULT_PRESETS = ("pix2pix", "unet-l1", "convnet-l2", "sgru", "sgru-hints", "reference")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=FACES, help=f"folder of color illustrations ({FACES})")
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=2400.0,
        help="CPU seconds of training per preset after its first step (default 2400: 20 min on 2 busy cores)",
    )
    parser.add_argument("--image-size", type=int, default=128, help="training size (default 128)")
    parser.add_argument("--batch-size", type=int, default=4, help="every preset's batch (default 4)")
    parser.add_argument(
        "--presets",
        help=f"comma-separated presets (default {','.join(DEFAULT_PRESETS)}; --quick: pix2pix,sgru-hints); "
        "a variant adds settings: pix2pix+seed=1, pix2pix+tv_weight=10",
    )
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=0.999,
        help="keep a weight average in every run and score both it and the trained weights (0: off)",
    )
    parser.add_argument(
        "--inception-weights",
        help="InceptionV3 weights file for FID/KID (default: the Keras cache's copy when it is there; "
        "without one the table says FID was not computed)",
    )
    parser.add_argument("--eval-images", type=int, default=300, help="val pairs scored (default 300)")
    parser.add_argument(
        "--interactive-images",
        type=int,
        default=100,
        help="val pairs of the hint and palette sweeps (default 100: each hint count is a full pass)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N illustrations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vgg-weights", default="random", help="VGG16 weights of the feature loss")
    parser.add_argument("--out", type=Path, default=RESULTS / "real_art.md")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of --out's earlier run (same settings) and add or replace this run's presets",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 faces, 64 px, 10 s, 2 presets")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.image_size, args.budget_seconds = args.limit or 200, 64, 10.0
        args.presets, args.eval_images = args.presets or "pix2pix,sgru-hints", 16
        args.interactive_images = min(args.interactive_images, 16)
    args.presets = args.presets or ",".join(DEFAULT_PRESETS)
    # What bench_presets' functions read from their own arguments.
    args.eval_batch_size, args.embedded_train, args.embedded_val = 8, 800, 80
    args.cpu_clock = True  # a budget of work, not of wall time, whatever the number of cores
    return args


# --------------------------------------------------------------------------- pairs


def make_pairs_once(faces: Path, limit: int | None, size: int = 256, val_fraction: float = 0.09) -> Path:
    """The pair folder made from ``faces`` by make_pairs.py (cached: made once per settings)."""
    images = sorted(list_images(faces))[:limit]
    key = hashlib.sha1(f"{faces.resolve()}|{len(images)}|{size}|{val_fraction}".encode()).hexdigest()[:12]
    root = default_cache_dir() / "real-art" / f"pairs-{key}"
    if (root / "done").is_file():
        return root
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "faces"
        source.mkdir()
        for image in images:  # links, not copies: the images never leave their folder
            (source / image.name).symlink_to(image.resolve())
        made = Path(scratch) / "pairs"
        command = [sys.executable, str(REPO / "data_scripts" / "make_pairs.py"), str(source), str(made)]
        command += ["--method", "xdog", "--size", str(size), "--val-fraction", str(val_fraction)]
        command += ["--skip-bad", "--quiet"]
        print("making pairs:", shlex.join(command[1:]), file=sys.stderr)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(made), root)
    (root / "done").write_text("made by bench_real_art.py\n")
    return root


def split_presets(text: str) -> list[str]:
    """ "a,b+generator_kwargs={"x":1,"y":[2,3]}" -> ["a", "b+generator_kwargs={...}"]: the commas
    inside a JSON value's brackets do not separate presets."""
    specs, depth, current = [], 0, ""
    for char in text:
        depth += (char in "[{") - (char in "]}")
        if char == "," and depth == 0:
            specs.append(current)
            current = ""
        else:
            current += char
    return [spec.strip() for spec in [*specs, current] if spec.strip()]


def parse_variant(spec: str) -> tuple[str, dict]:
    """ "pix2pix+tv_weight=10+hints=true" -> ("pix2pix", {"tv_weight": 10, "hints": True})."""
    name, *settings = spec.strip().split("+")
    overrides = {}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals:
            raise SystemExit(f"error: --presets {spec}: {setting!r} is not KEY=VALUE")
        try:  # numbers and true/false as JSON reads them; anything else is a string
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


# --------------------------------------------------------------------------- scores


def inception_weights_file(option: str | None) -> tuple[Path | None, str]:
    """The InceptionV3 weights file for FID/KID, and the table's note on it (never downloads)."""
    if option:
        path = Path(option).expanduser()
        if not path.is_file():
            raise SystemExit(f"error: --inception-weights {path}: file not found")
        return path, f"FID/KID with the InceptionV3 weights in {path}"
    cached = keras_cache_dir() / metrics.INCEPTION_WEIGHTS_FILE
    if cached.is_file():
        return cached, f"FID/KID with the InceptionV3 weights in {cached}"
    return None, (
        f"FID/KID not computed: the InceptionV3 weights are not on disk ({cached}); "
        "put the file there or pass --inception-weights FILE"
    )


def batches(files, config, args):
    """(sketch, target) uint8 batches of the val files at the benchmark's size."""
    return evaluate.uint8_batches(files, config, args.image_size, args.eval_batch_size)


def mean_image_baseline(train_files, val_files, config, args) -> dict:
    """Scores of the pixel-wise mean training target, as the output for every val sketch."""
    total, count = None, 0
    for _, targets in batches(train_files, config, args):
        total = targets.astype(np.float64).sum(0) + (0 if total is None else total)
        count += len(targets)
    mean_image = np.round(total / count).astype(np.uint8)
    totals = metrics.MetricTotals()
    for _, targets in batches(val_files, config, args):
        totals.update(np.broadcast_to(mean_image, targets.shape), targets)
    return totals.summary()


def gray_target_baseline(val_files, config, args) -> dict:
    """Scores of each target's own gray, as the output: what a gray-input preset (convnet-l2) is
    given, so the trivial baseline it must beat (the sketch baselines do not apply to it)."""
    gray_input = dataclasses.replace(config, input_mode="gray", palette=False, hints=False)
    totals = metrics.MetricTotals()
    for grays, targets in batches(val_files, gray_input, args):
        totals.update(grays, targets)
    return totals.summary()


def ground_truth_hints(targets: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """float32 [B, H, W, 4] hints: ``count`` random cells per image with their true mean color."""
    batch, height, width, _ = targets.shape
    cells_h, cells_w = height // HINT_CELL, width // HINT_CELL
    hints = np.zeros((batch, cells_h, cells_w, 4), np.float32)
    for index, target in enumerate(targets):
        cells = cv2.resize(target, (cells_w, cells_h), interpolation=cv2.INTER_AREA).astype(np.float32)
        chosen = rng.choice(cells_h * cells_w, size=count, replace=False)
        rows, cols = np.unravel_index(chosen, (cells_h, cells_w))
        hints[index, rows, cols, :3] = cells[rows, cols] / 127.5 - 1.0
        hints[index, rows, cols, 3] = 1.0
    return np.repeat(np.repeat(hints, HINT_CELL, axis=1), HINT_CELL, axis=2)


def target_palettes(targets: np.ndarray, n_colors: int) -> np.ndarray:
    """uint8 [B, n, 3]: each target's own K-means palette, as ``predict`` takes it (extract_palette
    gives [-1, 1] floats)."""
    return to_uint8(np.stack([extract_palette(target, n_colors) for target in targets]))


def interactive_scores(model, files, config, args) -> dict:
    """PSNR against hint counts (hint models) or for true vs another image's palette (palette models)."""
    rng = np.random.default_rng(args.seed)
    files = files[: args.interactive_images]
    result = {}
    if model.uses_hints:
        for count in HINT_COUNTS:
            totals = metrics.MetricTotals()
            for sketches, targets in batches(files, config, args):
                totals.update(model.predict(sketches, None, ground_truth_hints(targets, count, rng)), targets)
            result[f"hints_{count}"] = totals.summary()["psnr"]
    if model.palette_colors:
        for name, shift in (("true_palette", 0), ("other_palette", 1)):
            totals = metrics.MetricTotals()
            for sketches, targets in batches(files, config, args):
                palettes = np.roll(target_palettes(targets, model.palette_colors), shift, axis=0)
                totals.update(model.predict(sketches, palettes), targets)  # shift 1: another image's
            result[name] = totals.summary()["psnr"]
    return result


# --------------------------------------------------------------------------- pictures


def plot_hints(rows: list[dict], out: Path) -> Path | None:
    """PSNR vs number of ground-truth hints, one line per hint model."""
    curves = [
        (row["preset"], [row["interactive"][f"hints_{n}"] for n in HINT_COUNTS])
        for row in rows
        if "hints_0" in row["interactive"]
    ]
    if not curves:
        return None
    figure = Figure(figsize=(5, 3.4))
    axes = figure.subplots()
    for name, values in curves:
        axes.plot(range(len(HINT_COUNTS)), values, marker="o", label=name)
    axes.set_xticks(range(len(HINT_COUNTS)), [str(n) for n in HINT_COUNTS])
    axes.set_xlabel("hints from the ground truth")
    axes.set_ylabel("PSNR (dB)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=120)
    return out


def samples_picture(models: dict, files, config, args, out: Path) -> Path:
    """8 val sketches | each preset's output | truth, one row per image (kept local: real art)."""
    sketches, targets = next(iter(evaluate.uint8_batches(files[:8], config, args.image_size, 8)))
    columns = [sketches]
    for model in models.values():
        palette = target_palettes(targets, model.palette_colors) if model.palette_colors else None
        columns.append(model.predict(sketches, palette))
    columns.append(targets)
    grid = np.concatenate([np.concatenate(list(column), axis=0) for column in columns], axis=1)
    Image.fromarray(grid).save(out)
    return out


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.faces.is_dir():
        print(
            f"error: {args.faces}: folder not found. The benchmark needs the real illustrations there "
            "(../shared/data/anime_faces beside the checkout, with its SOURCES.md), or --faces DIR",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    earlier = earlier_report(args) if args.merge else None
    args.data = str(make_pairs_once(args.faces, args.limit))
    val_files = bench_presets.validation_files(args)
    config = bench_presets.preset_config("pix2pix", args, Path(tempfile.gettempdir())).data
    train_files = sorted(list_images(Path(args.data) / "train"))
    print(f"{len(train_files)} train / {len(list_images(Path(args.data) / 'val'))} val pairs in {args.data}")
    inception_file, fid_note = inception_weights_file(args.inception_weights)
    baselines = bench_presets.baselines(val_files, args)
    baselines["mean_image"] = mean_image_baseline(train_files, val_files, config, args)
    baselines["gray_target"] = gray_target_baseline(val_files, config, args)
    command = shlex.join(["python", "benchmarks/bench_real_art.py", *(argv or sys.argv[1:])])
    if earlier:
        command = f"{earlier['command']}` then `{command}"
    rows, models = [], {}

    def write_report() -> None:
        """The report so far: written after every preset, so a stopped run keeps what it measured."""
        ours = {row["variant"] for row in rows}  # this run's rows replace earlier rows of the same variants
        kept = [row for row in earlier["presets"] if row["variant"] not in ours] if earlier else []
        report = {
            "settings": {key: str(value) for key, value in vars(args).items()},
            "command": command,
            "presets": kept + rows,
            "baselines": baselines,
            "eval_images": len(val_files),
            "fid_note": fid_note,
            "seconds": time.perf_counter() - start,
        }
        report_json = json.dumps(bench_presets._json_safe(report), indent=2)
        args.out.with_suffix(".json").write_text(report_json + "\n")
        text = table(report)
        args.out.write_text(text)
        hints_plot = plot_hints(report["presets"], args.out.with_name("real_art_hints.png"))
        shown = {label: model for label, model in models.items() if "+" not in label}
        samples = samples_picture(shown, val_files, config, args, args.out.with_name("real_art_samples.png"))
        print(text)
        print(f"wrote {args.out}, {args.out.with_suffix('.json')}, {hints_plot or 'no hint plot'}, {samples}")

    with tempfile.TemporaryDirectory() as scratch:
        for index, spec in enumerate(split_presets(args.presets)):
            name, overrides = parse_variant(spec)
            run_dir = Path(scratch) / f"{index}-{name}"
            trained = bench_presets.train_preset(name, args, run_dir, overrides)
            # One training run, scored twice when it kept a weight average: the average does not
            # change training, so the two rows differ only in the weights read out.
            for averaged in (False, True) if args.ema_decay else (None,):
                label = spec + (" (EMA)" if averaged else "")
                row = dict(trained, preset=label, variant=spec, averaged=bool(averaged))
                extractor = inception_file and metrics.InceptionFeatureExtractor(inception_file)
                scored = bench_presets.evaluate_run(run_dir, val_files, args, averaged, extractor)
                row["metrics"] = scored["model"]
                for baseline in ("sketch", "mean_color"):  # their FID/KID: the same in every run
                    for key in ("fid", "kid"):
                        baselines[baseline].setdefault(key, scored[f"baseline_{baseline}"].get(key))
                models[label] = evaluate.load_model(run_dir, averaged)
                row["interactive"] = interactive_scores(models[label], val_files, config, args)
                rows.append(row)
                print(f"{label}: {row['steps']} steps, PSNR {row['metrics']['psnr']:.2f}", file=sys.stderr)
            write_report()
    return 0


MERGE_SETTINGS = (
    "faces",
    "budget_seconds",
    "image_size",
    "batch_size",
    "eval_images",
    "interactive_images",
    "limit",
    "seed",
    "vgg_weights",
)


def earlier_report(args) -> dict | None:
    """--out's JSON from an earlier run with the same settings (None when there is none yet)."""
    path = args.out.with_suffix(".json")
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
        before = {key: report["settings"][key] for key in MERGE_SETTINGS}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise SystemExit(f"error: --merge: {path} is not a report of this benchmark ({error})") from None
    now = {key: str(getattr(args, key)) for key in MERGE_SETTINGS}
    differing = [
        f"{key} {before[key]} there, {now[key]} now" for key in MERGE_SETTINGS if before[key] != now[key]
    ]
    if differing:
        raise SystemExit(f"error: --merge: {path} was made with other settings: {'; '.join(differing)}")
    return report


def input_label(row: dict) -> str:
    """What the model was given: its base input, plus the conditioning taken from the target."""
    label = {"gray": "gray of the target", "edges": "edges of the target"}.get(
        row["input_mode"], row["input_mode"]
    )
    if row.get("hints"):
        label += " + hints"
    if row.get("palette"):
        label += " + true palette"
    return label


def table(report: dict) -> str:
    """The Markdown table: presets, then baselines, then the interactive scores."""
    lines = [
        "# Presets on real anime illustrations, same CPU budget",
        "",
        f"Command: `{report['command']}`; {report['eval_images']} val pairs scored like `evaluate`. "
        f"{report.get('fid_note', 'FID/KID not computed')}.",
        "",
    ]
    with_fid = any(row["metrics"].get("fid") is not None for row in report["presets"])
    fid_header = " FID ↓ | KID ↓ |" if with_fid else ""
    lines += [
        "| preset | input | steps | images/s | L1 ↓ | L2 ↓ | PSNR ↑ | SSIM ↑ |" + fid_header,
        "|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if with_fid else ""),
    ]

    def fid_cells(m: dict) -> str:
        if not with_fid:
            return ""
        if m.get("fid") is None:
            return " - | - |"
        return f" {m['fid']:.1f} | {m['kid']:.4f} |"

    for row in report["presets"]:
        m = row["metrics"]
        lines.append(
            f"| {row['preset']} | {input_label(row)} | {row['steps']} | {row['images_per_sec']:.2f} "
            f"| {m['l1']:.2f} | {m['l2']:.1f} | {m['psnr']:.2f} | {m['ssim']:.4f} |" + fid_cells(m)
        )
    for name, label in (
        ("sketch", "sketch as output"),
        ("mean_color", "flat mean color"),
        ("mean_image", "mean training image"),
        ("gray_target", "gray of the target as output (the gray-input presets' baseline)"),
    ):
        m = report["baselines"][name]
        figures = f"{m['l1']:.2f} | {m['l2']:.1f} | {m['psnr']:.2f} | {m['ssim']:.4f}"
        lines.append(f"| baseline: {label} | - | - | - | {figures} |" + fid_cells(m))
    lines += [
        "",
        "Hint models are scored here with hints sampled from each target (the validation sampling of "
        "training), palette models with the target's own palette; their scores without that help are "
        "the interactive ones below (hints_0, other_palette).",
    ]
    hinted = [row for row in report["presets"] if "hints_0" in row["interactive"]]
    if hinted:
        lines += [
            "",
            "PSNR (dB) against the number of hints from the ground truth (Zhang et al. 2017's protocol), "
            f"on the first {report['settings']['interactive_images']} val pairs:",
            "",
            "| preset | " + " | ".join(str(n) for n in HINT_COUNTS) + " | 10 hints - 0 |",
            "|---|" + "---:|" * (len(HINT_COUNTS) + 1),
        ]
        for row in hinted:
            scores = row["interactive"]
            cells = " | ".join(f"{scores[f'hints_{n}']:.2f}" for n in HINT_COUNTS)
            lines.append(f"| {row['preset']} | {cells} | {scores['hints_10'] - scores['hints_0']:+.2f} |")
    paletted = [row for row in report["presets"] if "true_palette" in row["interactive"]]
    if paletted:
        lines += [
            "",
            "PSNR (dB) with the target's own palette and with another image's, on the first "
            f"{report['settings']['interactive_images']} val pairs:",
            "",
        ]
        lines += ["| preset | true palette | other palette | difference |", "|---|---:|---:|---:|"]
        for row in paletted:
            true, other = row["interactive"]["true_palette"], row["interactive"]["other_palette"]
            lines.append(f"| {row['preset']} | {true:.2f} | {other:.2f} | {true - other:+.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
