"""A corpus of hostile inputs through every entry point: files, folders, damaged runs and models,
bad flag values.

Every case must end with the documented exit code (2: bad input; verify_dataset 1 and colorize 1
when some files are bad but the run itself went through), no traceback, and a message naming
the offending file, folder or flag. ``test_hostile_files.py`` already runs its bad pair files
through verify_dataset, train and make_pairs --skip-bad; this file adds the rest: colorize,
evaluate and export, damaged run folders and models, bad folders, bad flag values, and file
names that are not UTF-8.

Starting Python with TensorFlow costs ~5-10 s, so the cases do not each get a process: a small
driver (``DRIVER`` below) runs a batch of command lines one after another in one process,
exactly as ``python -m MODULE ARGS`` / ``python SCRIPT ARGS`` would (runpy with
``run_name="__main__"``, file descriptors 1 and 2 redirected to per-case files, logging and
warnings reset between cases, an uncaught exception printed as the interpreter prints it, exit
code from SystemExit). A case that crashes or hangs the driver is recorded with what it printed
and the driver restarts on the next case. A few cases also run as real subprocesses (``-real``).

All runs use ``PYTHONIOENCODING=utf-8:strict``: the stdout of a desktop terminal with a UTF-8
locale (en_US.UTF-8), where printing a non-UTF-8 file name to stdout raises.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from test_hostile_files import REPO, SIZE, assert_every_problem_named, hostile_folder, pair_array, png_bytes

NONUTF8_FILE = os.fsdecode(b"bad\xff.png")  # the name as Python sees it: "bad\udcff.png"
NONUTF8_ZERO = os.fsdecode(b"zero\xff.png")
NONUTF8_DIR = os.fsdecode(b"pairs\xff")
# Problems of hostile_folder's files that make a bad pair but a fine colorize input (a sketch of
# any aspect, in any format Pillow reads right): those files must be colorized.
PAIR_ONLY_PROBLEMS = ("width = 2 x height", "unsupported image format", "palette BMP", "1-bit BMP")
ENTRY = {
    "train": ["-m", "sketch2color.train"],
    "evaluate": ["-m", "sketch2color.evaluate"],
    "export": ["-m", "sketch2color.export"],
    "colorize": ["-m", "sketch2color.colorize"],
    "verify": [str(REPO / "data_scripts" / "verify_dataset.py")],
    "make_pairs": [str(REPO / "data_scripts" / "make_pairs.py")],
}
TINY = (
    "--image-size", "32", "--batch-size", "1", "--epochs", "1", "--steps-per-epoch", "1",
    "--val-fraction", "0", "--metrics-images", "0", "--fid-every", "0",
    "--bn-recalibration-batches", "0", "--preview-samples", "1",
)  # fmt: skip
NO_PROGRESS_TIMEOUT = 240  # seconds without a finished case before the driver is killed


# --------------------------------------------------------------------------- the cases


@dataclasses.dataclass(frozen=True)
class Case:
    """One command line and what it must do.

    ``args``: the arguments after the entry point, with ``{name}`` placeholders for the prepared
    files (``Materials.paths``), ``{out}`` and ``{rundir}`` (fresh paths of this case).
    ``names``: words the message must contain (file names, flags; a name with undecodable bytes
    matches any of their usual spellings). ``check``: more assertions, ``check(result, materials)``.
    """

    id: str
    entry: str
    args: tuple[str, ...]
    code: int | tuple[int, ...] = 2
    names: tuple[str, ...] = ()
    check: Callable | None = None
    real: bool = False


def case(id, entry, *args, code=2, names=(), check=None, real=False) -> Case:
    return Case(id, entry, tuple(args), code, tuple(names), check, real)


def pair_only(problem: str) -> bool:
    return any(words in problem for words in PAIR_ONLY_PROBLEMS)


def check_colorize_mixed(result, materials) -> None:
    """The good files of the hostile folder are written; every bad one is named with its problem."""
    out = Path(result["out"])
    written = sorted(p.name for p in out.glob("*.png")) if out.is_dir() else []
    fine = ["good.png", *(k for k, v in materials.problems.items() if pair_only(v))]
    expected = sorted(f"{Path(name).stem}.png" for name in fine)
    assert written == expected, f"written {written}, expected {expected}"
    bad = {k: v for k, v in materials.problems.items() if not pair_only(v)}
    assert_every_problem_named(result["stderr"], bad)


def check_colorize_nonutf8(result, materials) -> None:
    """Either colorized (an output written) or refused with the file named."""
    out = Path(result["out"])
    if result["code"] == 0:
        assert out.is_dir() and list(out.iterdir()), "exit 0 but nothing written"
    else:
        assert name_pattern(NONUTF8_FILE).search(result["stderr"]), "exit 1 without naming the file"


def check_odd_sizes_colorized(result, materials) -> None:
    """Each odd-shaped sketch is colorized at its own size."""
    for source in Path(materials.paths["odd_sketches"]).iterdir():
        output = Path(result["out"]) / f"{source.stem}.png"
        assert output.is_file(), f"{output.name} not written"
        with Image.open(source) as given, Image.open(output) as colored:
            assert colored.size == given.size, f"{output.name}: {colored.size}, the sketch is {given.size}"


def check_pairs_usable_names(result, materials) -> None:
    """make_pairs must not write pair files that train and evaluate refuse (non-UTF-8 names)."""
    out = Path(result["out"])
    written = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else []
    undecodable = []
    for path in written:
        try:
            os.fsencode(path.name).decode("utf-8")
        except UnicodeDecodeError:
            undecodable.append(os.fsencode(path.name))
    assert not undecodable, f"wrote pair files with non-UTF-8 names, which train refuses: {undecodable}"
    if len(written) < 2:  # the file was left out: then it must be named
        assert name_pattern(NONUTF8_FILE).search(result["stdout"] + result["stderr"]), "left out unnamed"


def check_evaluate_hostile(result, materials) -> None:
    assert_every_problem_named(result["stderr"], materials.problems)


VERIFY = [
    case("missing-folder", "verify", "{missing}", names=["no_such_folder"]),
    case("empty-folder", "verify", "{empty}", names=["empty_folder"]),
    case("file-as-folder", "verify", "{a_file}", names=["a_text_file.txt"]),
    case("only-non-images", "verify", "{only_text}", names=["only_text_folder"]),
    case("only-bad-files-default-preview", "verify", "{all_bad}", code=1, names=["zero.png", "text.png"]),
    case("preview-under-a-file", "verify", "{good}", "--preview", "{a_file}/preview.png",
         names=["--preview"]),
    case("non-utf8-file-name", "verify", "{nonutf8_file}", "--preview", "", code=1,
         names=[NONUTF8_FILE, "UTF-8"]),
    case("non-utf8-file-name-real", "verify", "{nonutf8_file}", "--preview", "", code=1,
         names=[NONUTF8_FILE, "UTF-8"], real=True),
    case("samples-zero", "verify", "{good}", "--samples", "0", names=["--samples"]),
    case("samples-negative", "verify", "{good}", "--samples", "-2", names=["--samples"]),
    case("samples-nan", "verify", "{good}", "--samples", "nan", names=["--samples"]),
    case("val-fraction-nan", "verify", "{good}", "--preview", "", "--val-fraction", "nan",
         names=["--val-fraction"]),
    case("val-fraction-inf", "verify", "{good}", "--preview", "", "--val-fraction", "inf",
         names=["--val-fraction"]),
    case("val-fraction-negative", "verify", "{good}", "--preview", "", "--val-fraction", "-0.5",
         names=["--val-fraction"]),
    case("val-fraction-above-one", "verify", "{good}", "--preview", "", "--val-fraction", "1.5",
         names=["--val-fraction"]),
    case("sketch-side-choice", "verify", "{good}", "--sketch-side", "up", names=["--sketch-side"]),
]  # fmt: skip

MAKE_PAIRS = [
    case("missing-src", "make_pairs", "{missing}", "{out}", names=["no_such_folder"]),
    case("empty-src", "make_pairs", "{empty}", "{out}", names=["empty_folder"]),
    case("src-is-a-file", "make_pairs", "{a_file}", "{out}", names=["a_text_file.txt"]),
    case("src-only-non-images", "make_pairs", "{only_text}", "{out}", names=["only_text_folder"]),
    case("out-is-a-file", "make_pairs", "{art}", "{a_file}", names=["a_text_file.txt"]),
    case("out-under-a-file", "make_pairs", "{art}", "{a_file}/pairs", names=["a_text_file.txt"]),
    case("bad-image-without-skip-bad", "make_pairs", "{art_one_bad}", "{out}", "--quiet",
         names=["zero.png", "zero-byte"]),
    case("size-zero", "make_pairs", "{art}", "{out}", "--size", "0", names=["--size"]),
    case("size-negative", "make_pairs", "{art}", "{out}", "--size", "-5", names=["--size"]),
    case("size-nan", "make_pairs", "{art}", "{out}", "--size", "nan", names=["--size"]),
    case("val-fraction-nan", "make_pairs", "{art}", "{out}", "--val-fraction", "nan",
         names=["--val-fraction"]),
    case("val-fraction-one", "make_pairs", "{art}", "{out}", "--val-fraction", "1", names=["--val-fraction"]),
    case("method-choice", "make_pairs", "{art}", "{out}", "--method", "pencil", names=["--method"]),
    case("seed-not-a-number", "make_pairs", "{art}", "{out}", "--seed", "abc", names=["--seed"]),
    case("non-utf8-name-is-written-usable", "make_pairs", "{art_nonutf8}", "{out}", "--size", "16", "--quiet",
         code=(0, 2), check=check_pairs_usable_names),
    case("non-utf8-name-skipped", "make_pairs", "{art_nonutf8_zero}", "{out}", "--size", "16", "--skip-bad",
         "--quiet", code=0, names=[NONUTF8_ZERO, "zero-byte"]),
    case("non-utf8-name-skipped-real", "make_pairs", "{art_nonutf8_zero}", "{out}", "--size", "16",
         "--skip-bad", "--quiet", code=0, names=[NONUTF8_ZERO, "zero-byte"], real=True),
]  # fmt: skip

T = ("--data", "{good}", *TINY, "--no-export", "--run-dir", "{rundir}")
TRAIN = [
    case("data-missing", "train", *T, "--data", "{missing}", names=["no_such_folder"]),
    case("data-empty", "train", *T, "--data", "{empty}", names=["empty_folder"]),
    case("data-is-a-file", "train", *T, "--data", "{a_file}", names=["a_text_file.txt"]),
    case("data-only-non-images", "train", *T, "--data", "{only_text}", names=["only_text_folder"]),
    case("data-non-utf8-file-name", "train", *T, "--data", "{nonutf8_file}", names=[NONUTF8_FILE, "UTF-8"]),
    case("data-non-utf8-folder-name", "train", *T, "--data", "{nonutf8_dir}", names=[NONUTF8_DIR]),
    case("run-dir-is-a-file", "train", *T, "--run-dir", "{a_file}", names=["--run-dir"]),
    case("run-dir-garbage-config", "train", *T, "--run-dir", "{train_bad_config}", names=["config.json"]),
    case("run-dir-config-wrong-type", "train", *T, "--epochs", "2", "--run-dir", "{train_config_flip}",
         names=["config.json"]),
    case("cache-is-a-file", "train", *T, "--cache", "{a_file}", names=["--cache"]),
    case("vgg-weights-missing", "train", *T, "--feature-weight", "1", "--vgg-weights", "{missing}/vgg16.h5",
         names=["vgg16.h5"]),
    case("vgg-weights-garbage", "train", *T, "--feature-weight", "1", "--vgg-weights", "{a_file}",
         names=["a_text_file.txt"]),
    case("inception-weights-garbage", "train", *T, "--metrics-images", "1", "--fid-every", "1",
         "--inception-weights", "{a_file}", names=["a_text_file.txt"]),
    case("image-size-not-multiple-of-16", "train", *T, "--image-size", "40", names=["--image-size"]),
    case("batch-size-negative", "train", *T, "--batch-size", "-1", names=["--batch-size"]),
    case("epochs-zero", "train", *T, "--epochs", "0", names=["--epochs"]),
    case("flip-prob-nan", "train", *T, "--flip-prob", "nan", names=["--flip-prob"]),
    case("lr-inf", "train", *T, "--lr", "inf", names=["--lr"]),
    case("image-size-not-a-number", "train", *T, "--image-size", "abc", names=["--image-size"]),
    case("sketch-side-choice", "train", *T, "--sketch-side", "up", names=["--sketch-side"]),
    case("gan-loss-choice", "train", *T, "--gan-loss", "wasserstein", names=["--gan-loss"]),
    case("preset-unknown", "train", *T, "--preset", "nonesuch", names=["--preset"]),
    case("generator-unknown", "train", *T, "--generator", "nonesuch", names=["--generator"]),
    case("discriminator-unknown", "train", *T, "--discriminator", "nonesuch", names=["--discriminator"]),
]  # fmt: skip

E = ("--model", "{run}", "--split", "all", "--no-fid", "--out", "{out}")
EVALUATE = [
    case("data-missing", "evaluate", *E, "--data", "{missing}", names=["no_such_folder"]),
    case("data-empty", "evaluate", *E, "--data", "{empty}", names=["empty_folder"]),
    case("data-is-a-file", "evaluate", *E, "--data", "{a_file}", names=["a_text_file.txt"]),
    case("data-only-non-images", "evaluate", *E, "--data", "{only_text}", names=["only_text_folder"]),
    case("data-hostile-files-are-named", "evaluate", *E, "--data", "{hostile}", code=0,
         check=check_evaluate_hostile),
    case("data-only-bad-files", "evaluate", *E, "--data", "{all_bad}", names=["zero.png", "text.png"]),
    case("data-non-utf8-file-name", "evaluate", *E, "--data", "{nonutf8_file}", code=0, names=[NONUTF8_FILE]),
    case("data-non-utf8-folder-name", "evaluate", *E, "--data", "{nonutf8_dir}", names=[NONUTF8_DIR]),
    case("model-missing", "evaluate", *E, "--model", "{missing}", names=["no_such_folder"]),
    case("model-empty-folder", "evaluate", *E, "--model", "{empty}", names=["empty_folder"]),
    case("model-is-a-text-file", "evaluate", *E, "--model", "{a_file}", names=["a_text_file.txt"]),
    case("model-garbage-saved-model-pb", "evaluate", *E, "--data", "{good}", "--model", "{model_garbage_pb}",
         names=["model_garbage_pb"]),
    case("model-truncated-variables", "evaluate", *E, "--data", "{good}", "--model", "{model_truncated_vars}",
         names=["model_truncated_vars"]),
    case("model-run-without-checkpoints", "evaluate", *E, "--model", "{run_no_ckpt}", names=["run_no_ckpt"]),
    case("model-run-garbage-config", "evaluate", *E, "--model", "{run_bad_config}", names=["config.json"]),
    case("model-run-config-wrong-type", "evaluate", *E, "--model", "{run_config_types}",
         names=["config.json"]),
    case("model-run-garbage-checkpoint", "evaluate", *E, "--model", "{run_garbage_ckpt}",
         names=["run_garbage_ckpt"]),
    case("model-run-truncated-checkpoint", "evaluate", *E, "--model", "{run_truncated_ckpt}",
         names=["run_truncated_ckpt"]),
    case("image-size-negative", "evaluate", *E, "--image-size", "-1", names=["--image-size"]),
    case("image-size-nan", "evaluate", *E, "--image-size", "nan", names=["--image-size"]),
    case("max-images-zero", "evaluate", *E, "--max-images", "0", names=["--max-images"]),
    case("batch-size-negative", "evaluate", *E, "--batch-size", "-2", names=["--batch-size"]),
    case("batch-size-inf", "evaluate", *E, "--batch-size", "inf", names=["--batch-size"]),
    case("samples-negative", "evaluate", *E, "--samples", "-1", names=["--samples"]),
    case("samples-not-a-number", "evaluate", *E, "--samples", "many", names=["--samples"]),
    case("split-choice", "evaluate", *E, "--split", "test", names=["--split"]),
    case("out-is-a-file", "evaluate", *E, "--out", "{a_file}", names=["a_text_file.txt"]),
    case("inception-weights-missing", "evaluate", "--model", "{run}", "--split", "all", "--out", "{out}",
         "--inception-weights", "{missing}/inception.h5", names=["inception.h5"]),
    case("inception-weights-garbage", "evaluate", "--model", "{run}", "--split", "all", "--out", "{out}",
         "--inception-weights", "{a_file}", names=["a_text_file.txt"]),
]  # fmt: skip

EXPORT = [
    case("run-dir-missing", "export", "{missing}", "{out}", names=["no_such_folder"]),
    case("run-dir-is-a-file", "export", "{a_file}", "{out}", names=["a_text_file.txt"]),
    case("run-dir-empty", "export", "{empty}", "{out}", names=["empty_folder"]),
    case("run-without-checkpoints", "export", "{run_no_ckpt}", "{out}", names=["run_no_ckpt"]),
    case("garbage-config", "export", "{run_bad_config}", "{out}", names=["config.json"]),
    case("config-wrong-type", "export", "{run_config_types}", "{out}", names=["config.json"]),
    case("config-not-an-object", "export", "{run_config_list}", "{out}", names=["config.json"]),
    case("config-unknown-generator", "export", "{run_unknown_gen}", "{out}", names=["nonesuch"]),
    case("garbage-checkpoint", "export", "{run_garbage_ckpt}", "{out}", names=["run_garbage_ckpt"]),
    case("truncated-checkpoint", "export", "{run_truncated_ckpt}", "{out}", names=["run_truncated_ckpt"]),
    case("out-dir-is-a-file", "export", "{run}", "{a_file}", names=["a_text_file.txt"]),
    case("out-dir-under-a-file", "export", "{run}", "{a_file}/export", names=["a_text_file.txt"]),
]  # fmt: skip

C = ("--model", "{export}", "--out", "{out}")
CP = ("--model", "{cond_export}", "--out", "{out}")
M = ("{good}", "--out", "{out}", "--model")
COLORIZE = [
    case("hostile-inputs-good-written-bad-named", "colorize", "{hostile}", *C, code=1,
         check=check_colorize_mixed),
    case("hostile-inputs-good-written-bad-named-real", "colorize", "{hostile}", *C, code=1,
         check=check_colorize_mixed, real=True),
    case("input-kind-pair-on-a-square", "colorize", "{hostile}/square.png", *C, "--input-kind", "pair",
         code=1, names=["square.png", "width = 2 x height"]),
    case("input-missing", "colorize", "{missing}", *C, names=["no_such_folder"]),
    case("input-empty-folder", "colorize", "{empty}", *C, names=["empty_folder"]),
    case("input-only-non-images", "colorize", "{only_text}", *C, names=["only_text_folder"]),
    case("input-non-utf8-file-name", "colorize", "{nonutf8_file}/" + NONUTF8_FILE, *C, code=(0, 1),
         check=check_colorize_nonutf8),
    case("reference-corrupt", "colorize", "{good}", *CP, "--reference", "{bad_reference}",
         names=["bad_reference.jpg"]),
    case("reference-missing", "colorize", "{good}", *CP, "--reference", "{missing}/reference.png",
         names=["reference.png"]),
    case("hints-corrupt", "colorize", "{good}", *CP, "--palette", "#ffffff", "--hints", "{bad_hints}",
         names=["bad_hints.png"]),
    case("hints-extreme-aspect-warns", "colorize", "{good}", *CP, "--palette", "#ffffff",
         "--hints", "{thin_hints}", code=0, names=["thin_hints.png", "stretched"]),
    case("odd-sized-sketches", "colorize", "{odd_sketches}", *C, code=0, check=check_odd_sizes_colorized),
    case("palette-bad-hex-digit", "colorize", "{good}", *CP, "--palette", "#ff00zz", names=["--palette"]),
    case("palette-too-many-digits", "colorize", "{good}", *CP, "--palette", "#fffffff", names=["--palette"]),
    case("palette-too-many-colors", "colorize", "{good}", *CP, "--palette", ",".join(["#102030"] * 10),
         names=["--palette"]),
    case("palette-only-separators", "colorize", "{good}", *CP, "--palette", ",,,", names=["--palette"]),
    case("palette-model-without-palette", "colorize", "{good}", *CP, names=["--palette"]),
    case("out-is-a-file", "colorize", "{good}", "--model", "{export}", "--out", "{a_file}", names=["--out"]),
    case("out-under-a-file", "colorize", "{good}", "--model", "{export}", "--out", "{a_file}/colored",
         names=["--out"]),
    case("model-missing", "colorize", *M, "{missing}", names=["no_such_folder"]),
    case("model-empty-folder", "colorize", *M, "{empty}", names=["empty_folder"]),
    case("model-is-a-text-file", "colorize", *M, "{a_file}", names=["a_text_file.txt"]),
    case("model-garbage-saved-model-pb", "colorize", *M, "{model_garbage_pb}", names=["model_garbage_pb"]),
    case("model-truncated-variables", "colorize", *M, "{model_truncated_vars}",
         names=["model_truncated_vars"]),
    case("model-run-without-checkpoints", "colorize", *M, "{run_no_ckpt}", names=["run_no_ckpt"]),
    case("input-kind-choice", "colorize", "{good}", *C, "--input-kind", "photo", names=["--input-kind"]),
    case("sketch-side-choice", "colorize", "{good}", *C, "--sketch-side", "up", names=["--sketch-side"]),
]  # fmt: skip

LIGHT = VERIFY + MAKE_PAIRS  # no TensorFlow, no model
HEAVY = TRAIN + EVALUATE + EXPORT + COLORIZE


def key(case: Case) -> str:
    return f"{case.entry}:{case.id}"


# --------------------------------------------------------------------------- the prepared files


@dataclasses.dataclass
class Materials:
    work: Path
    paths: dict[str, str]
    problems: dict[str, str]

    def fields(self, case: Case) -> dict[str, str]:
        name = f"{case.entry}-{case.id}"
        return dict(self.paths, out=str(self.work / "out" / name), rundir=str(self.work / "runs" / name))

    def argv(self, case: Case) -> list[str]:
        fields = self.fields(case)
        return [*ENTRY[case.entry], *(arg.format_map(fields) for arg in case.args)]


def write_pairs(folder: Path, count: int, seed: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"pair_{i}.png").write_bytes(png_bytes(pair_array(seed + i)))
    return folder


def build_light(work: Path) -> Materials:
    paths = {"cwd": work / "cwd", "missing": work / "no_such_folder", "empty": work / "empty_folder"}
    paths["cwd"].mkdir()
    paths["empty"].mkdir()
    problems = hostile_folder(work / "hostile")
    paths["hostile"] = work / "hostile"
    paths["good"] = write_pairs(work / "good_pairs", 3)
    paths["a_file"] = work / "a_text_file.txt"
    paths["a_file"].write_text("not a folder, not a model, not an image\n")
    only_text = work / "only_text_folder"
    only_text.mkdir()
    (only_text / "readme.txt").write_text("no images here\n")
    (only_text / "notes.md").write_text("# notes\n")
    Image.fromarray(pair_array(7)).save(only_text / "animation.gif")
    paths["only_text"] = only_text
    all_bad = work / "all_bad_folder"
    all_bad.mkdir()
    (all_bad / "zero.png").write_bytes(b"")
    (all_bad / "text.png").write_text("hello\n" * 50)
    paths["all_bad"] = all_bad
    good_pair = png_bytes(pair_array(20))
    nonutf8 = write_pairs(work / "nonutf8_file_folder", 2)
    (nonutf8 / NONUTF8_FILE).write_bytes(good_pair)  # a good pair with a bad name
    paths["nonutf8_file"] = nonutf8
    paths["nonutf8_dir"] = write_pairs(work / NONUTF8_DIR, 3)
    paths["art"] = write_pairs(work / "art", 2)
    art_one_bad = write_pairs(work / "art_one_bad", 1)
    (art_one_bad / "zero.png").write_bytes(b"")
    paths["art_one_bad"] = art_one_bad
    art_nonutf8 = write_pairs(work / "art_nonutf8", 1)
    (art_nonutf8 / NONUTF8_FILE).write_bytes(good_pair)
    paths["art_nonutf8"] = art_nonutf8
    art_zero = write_pairs(work / "art_nonutf8_zero", 1)
    (art_zero / NONUTF8_ZERO).write_bytes(b"")
    paths["art_nonutf8_zero"] = art_zero
    return Materials(work, {name: str(path) for name, path in paths.items()}, problems)


def train_model(materials: Materials, name: str, *extra: str) -> Path:
    run_dir = materials.work / "models" / name
    argv = [*ENTRY["train"], "--data", materials.paths["good"], *TINY, "--run-dir", str(run_dir), *extra]
    result = subprocess.run(
        [sys.executable, *argv], cwd=materials.paths["cwd"], env=environment(materials.work),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, f"training the {name} model failed:\n{readable(result.stderr)}"
    assert (run_dir / "export" / "saved_model" / "saved_model.pb").is_file()
    return run_dir


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def add_model_variants(materials: Materials, run: Path, cond: Path) -> None:
    """Damaged copies of the plain run: configs, checkpoints and exports broken in different ways."""
    work, paths = materials.work / "models", materials.paths
    config = json.loads((run / "config.json").read_text())

    def run_copy(name: str, checkpoints: bool = True, config_text: str | bytes | None = None) -> Path:
        folder = work / name
        folder.mkdir()
        if checkpoints:
            shutil.copytree(run / "checkpoints", folder / "checkpoints")
        text = json.dumps(config) if config_text is None else config_text
        (folder / "config.json").write_bytes(text if isinstance(text, bytes) else text.encode())
        paths[name] = str(folder)
        return folder

    def changed(section: str, field: str, value) -> str:
        copy = json.loads(json.dumps(config))
        copy[section][field] = value
        return json.dumps(copy)

    garbage = b"\x00\xff{ this is not json" + os.urandom(64)
    run_copy("run_no_ckpt", checkpoints=False)
    run_copy("run_bad_config", config_text=garbage)
    run_copy("run_config_types", config_text=changed("data", "image_size", "big"))
    run_copy("run_config_list", config_text="[1, 2, 3]")
    run_copy("run_unknown_gen", config_text=changed("model", "generator", "nonesuch"))
    run_copy("train_bad_config", config_text=garbage)
    run_copy("train_config_flip", config_text=changed("data", "flip_prob", "high"))
    broken = run_copy("run_garbage_ckpt", checkpoints=False)
    (broken / "checkpoints").mkdir()
    for source in (run / "checkpoints").iterdir():
        target = broken / "checkpoints" / source.name
        target.write_bytes(source.read_bytes() if source.name == "checkpoint" else os.urandom(4096))
    cut = run_copy("run_truncated_ckpt")
    for data in (cut / "checkpoints").glob("ckpt-*.data-*"):
        truncate(data)
    pb = work / "model_garbage_pb"
    pb.mkdir()
    (pb / "saved_model.pb").write_bytes(os.urandom(3000))
    paths["model_garbage_pb"] = str(pb)
    variables = work / "model_truncated_vars"
    shutil.copytree(run / "export" / "saved_model", variables)
    for data in (variables / "variables").glob("variables.data-*"):
        truncate(data)
    paths["model_truncated_vars"] = str(variables)
    paths.update(run=str(run), export=str(run / "export"), cond_export=str(cond / "export"))
    bad_reference = materials.work / "bad_reference.jpg"
    bad_reference.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)  # a JPEG start, then nothing
    bad_hints = materials.work / "bad_hints.png"
    bad_hints.write_bytes(png_bytes(pair_array(9)[:, :SIZE])[:90])
    thin_hints = materials.work / "thin_hints.png"
    Image.new("RGBA", (400, 1), (255, 0, 0, 255)).save(thin_hints)
    odd = materials.work / "odd_sketches"
    odd.mkdir()
    Image.new("RGB", (1, 1), (0, 0, 0)).save(odd / "one_pixel.png")
    Image.new("RGB", (3000, 2), (255, 255, 255)).save(odd / "long_strip.png")
    Image.new("L", (7, 500), 128).save(odd / "tall_gray.png")
    paths.update(bad_reference=str(bad_reference), bad_hints=str(bad_hints), thin_hints=str(thin_hints))
    paths["odd_sketches"] = str(odd)


# --------------------------------------------------------------------------- running the cases


DRIVER = r'''
"""Run command lines one after another in this process, each as `python -m` / `python SCRIPT` would."""
import io, json, logging, os, runpy, sys, traceback, warnings

def main():
    cases = json.loads(open(sys.argv[1], encoding="utf-8").read())
    log = open(sys.argv[2], "a", encoding="utf-8")
    encodings = [(s.encoding, s.errors) for s in (sys.stdout, sys.stderr)]
    saved_fds = [os.dup(1), os.dup(2)]
    real_streams = sys.stdout, sys.stderr
    filters = list(warnings.filters)
    for case in cases:
        log.write(json.dumps({"start": case["key"]}) + "\n")
        log.flush()
        files = [open(case["stdout"], "wb"), open(case["stderr"], "wb")]
        for fd, handle in zip((1, 2), files):
            os.dup2(handle.fileno(), fd)
        streams = [
            io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding=enc, errors=err, write_through=True)
            for fd, (enc, err) in zip((1, 2), encodings)
        ]
        sys.stdout, sys.stderr = streams
        logging.root.handlers.clear()
        warnings.filters[:] = filters
        warnings._filters_mutated()
        os.chdir(case["cwd"])
        code = 0
        try:
            sys.argv = list(case["argv"])
            if case["argv"][0] == "-m":
                sys.argv = [case["argv"][1], *case["argv"][2:]]
                runpy.run_module(case["argv"][1], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(case["argv"][0], run_name="__main__")
        except SystemExit as exit_:
            if exit_.code is None:
                code = 0
            elif isinstance(exit_.code, int):
                code = exit_.code
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        for stream in streams:
            try:
                stream.flush()
            except Exception:
                pass
        sys.stdout, sys.stderr = real_streams
        for fd, saved in zip((1, 2), saved_fds):
            os.dup2(saved, fd)
        for handle in files:
            handle.close()
        log.write(json.dumps({"done": case["key"], "code": code}) + "\n")
        log.flush()

main()
'''


def environment(work: Path) -> dict[str, str]:
    return dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        SKETCH2COLOR_CACHE=str(work / "cache"),
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8:strict",
    )


def decode(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def run_cases(cases: list[Case], materials: Materials, batch: str) -> dict[str, dict]:
    """{case key: {"code", "stdout", "stderr", "out", "argv", "seconds"}} of every case."""
    folder = materials.work / "logs" / batch
    folder.mkdir(parents=True)
    driver = folder / "driver.py"
    driver.write_text(DRIVER)
    env = environment(materials.work)
    specs = {}
    for number, case in enumerate(cases):
        specs[key(case)] = {
            "key": key(case),
            "argv": materials.argv(case),
            "cwd": materials.paths["cwd"],
            "stdout": str(folder / f"{number:03d}.stdout"),
            "stderr": str(folder / f"{number:03d}.stderr"),
        }
    results: dict[str, dict] = {}
    for case in (c for c in cases if c.real):
        spec, start = specs[key(case)], time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, *spec["argv"]], cwd=spec["cwd"], env=env, capture_output=True, timeout=300
            )
            code, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as timeout:
            code, stdout, stderr = "timeout", timeout.stdout or b"", timeout.stderr or b""
        results[key(case)] = {"code": code, "stdout": decode(stdout), "stderr": decode(stderr)}
        results[key(case)]["seconds"] = time.perf_counter() - start
    todo = [specs[key(c)] for c in cases if not c.real]
    attempt = 0
    while todo:
        attempt += 1
        cases_file, log_file = folder / f"cases-{attempt}.json", folder / f"log-{attempt}.jsonl"
        cases_file.write_text(json.dumps(todo))
        log_file.touch()
        with open(folder / f"driver-{attempt}.err", "wb") as driver_err:
            process = subprocess.Popen(
                [sys.executable, str(driver), str(cases_file), str(log_file)],
                cwd=materials.paths["cwd"], env=env, stdout=driver_err, stderr=subprocess.STDOUT,
            )  # fmt: skip
            last_size, last_change, killed = 0, time.monotonic(), False
            while process.poll() is None:
                time.sleep(0.2)
                size = log_file.stat().st_size
                if size != last_size:
                    last_size, last_change = size, time.monotonic()
                elif time.monotonic() - last_change > NO_PROGRESS_TIMEOUT:
                    process.kill()
                    process.wait()
                    killed = True
        events = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
        started, finished = [], set()
        for event in events:
            if "start" in event:
                started.append(event["start"])
            else:
                finished.add(event["done"])
                results[event["done"]] = {"code": event["code"]}
        crashed = [k for k in started if k not in finished]
        for crash in crashed:  # the process died (or hung) in this case: what it printed is what users see
            results[crash] = {"code": "hung (killed)" if killed else f"crashed ({process.returncode})"}
        done = finished | set(crashed)
        if not done:  # the driver itself failed before any case
            raise RuntimeError(f"driver failed:\n{(folder / f'driver-{attempt}.err').read_text()[-3000:]}")
        todo = [spec for spec in todo if spec["key"] not in done]
    for name, result in results.items():
        spec = specs[name]
        for stream in ("stdout", "stderr"):
            if stream not in result:
                written = Path(spec[stream])
                result[stream] = decode(written.read_bytes()) if written.exists() else ""
        result["argv"] = spec["argv"]
    for case in cases:
        results[key(case)]["out"] = materials.fields(case)["out"]
    return results


# --------------------------------------------------------------------------- checking


NOISE = re.compile(
    r"^(I0000|W0000|E0000 .*(cuInit|cuda)|WARNING: All log messages|To enable the following instructions)"
)


def readable(text: str, lines: int = 25) -> str:
    """The last lines of an output, without TensorFlow's start-up chatter and progress bars."""
    kept = [line.split("\r")[-1] for line in text.splitlines() if not NOISE.match(line)]
    return "\n".join(kept[-lines:])


def name_pattern(name: str) -> re.Pattern:
    """A name as it can appear in a message; an undecodable byte (a surrogate here) in any usual spelling."""
    parts = []
    for char in name:
        if 0xDC80 <= ord(char) <= 0xDCFF:
            byte = ord(char) - 0xDC00
            parts.append(f"(?:\\\\x{byte:02x}|\\\\udc{byte:02x}|\ufffd|\\?|%{byte:02X})")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE)


def without_usage(text: str) -> str:
    """argparse's usage block lists every flag: drop it, so a flag must be named in the error itself."""
    return re.sub(r"(?ms)^usage: .*?(?=^\S.*?: error: )", "", text)


def command(result: dict) -> str:
    return "python " + " ".join(shlex.quote(arg) for arg in result["argv"])


def check(case: Case, results: dict, materials: Materials) -> None:
    result = results[key(case)]
    shown = (
        f"\n$ {command(result)}\nexit code: {result['code']}"
        f"\n--- stderr (end) ---\n{readable(result['stderr'])}"
        f"\n--- stdout (end) ---\n{readable(result['stdout'], 8)}"
    )
    assert "Traceback" not in result["stderr"] + result["stdout"], "traceback" + shown
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    expected = " or ".join(map(str, codes))
    assert result["code"] in codes, f"exit code {result['code']}, expected {expected}{shown}"
    message = without_usage(result["stderr"])
    if case.entry in ("verify", "make_pairs"):  # they report bad files on stdout
        message += "\n" + result["stdout"]
    for name in case.names:
        assert name_pattern(name).search(message), f"{name!r} not named{shown}"
    if case.check:
        try:
            case.check(result, materials)
        except AssertionError as error:
            raise AssertionError(f"{error}{shown}") from None


# --------------------------------------------------------------------------- fixtures and tests


@pytest.fixture(scope="module")
def materials(tmp_path_factory) -> Materials:
    return build_light(tmp_path_factory.mktemp("hostile_corpus"))


@pytest.fixture(scope="module")
def light_results(materials) -> dict[str, dict]:
    return run_cases(LIGHT, materials, "light")


@pytest.fixture(scope="module")
def heavy_results(materials) -> dict[str, dict]:
    """Train a plain and a palette + hints model once (the real CLI), damage copies, run the cases."""
    run = train_model(materials, "plain")
    cond = train_model(materials, "palette_hints", "--palette", "--hints")
    add_model_variants(materials, run, cond)
    return run_cases(HEAVY, materials, "heavy")


def ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


def test_the_corpus_covers_every_entry_point():
    by_entry = {entry: sum(c.entry == entry for c in LIGHT + HEAVY) for entry in ENTRY}
    assert all(count >= 8 for count in by_entry.values()), by_entry
    assert len(LIGHT + HEAVY) >= 40
    assert len({key(c) for c in LIGHT + HEAVY}) == len(LIGHT + HEAVY), "duplicate case ids"


@pytest.mark.parametrize("case", VERIFY, ids=ids(VERIFY))
def test_verify_dataset(case, light_results, materials):
    check(case, light_results, materials)


@pytest.mark.parametrize("case", MAKE_PAIRS, ids=ids(MAKE_PAIRS))
def test_make_pairs(case, light_results, materials):
    check(case, light_results, materials)


@pytest.mark.slow
@pytest.mark.parametrize("case", TRAIN, ids=ids(TRAIN))
def test_train(case, heavy_results, materials):
    check(case, heavy_results, materials)


@pytest.mark.slow
@pytest.mark.parametrize("case", EVALUATE, ids=ids(EVALUATE))
def test_evaluate(case, heavy_results, materials):
    check(case, heavy_results, materials)


@pytest.mark.slow
@pytest.mark.parametrize("case", EXPORT, ids=ids(EXPORT))
def test_export(case, heavy_results, materials):
    check(case, heavy_results, materials)


@pytest.mark.slow
@pytest.mark.parametrize("case", COLORIZE, ids=ids(COLORIZE))
def test_colorize(case, heavy_results, materials):
    check(case, heavy_results, materials)
