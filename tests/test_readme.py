"""Every command shown in README.md is exercised: the README cannot drift from the code.

The README's fenced ``bash`` blocks are split into commands (comments stripped, ``&&`` chains
split) and its ``python`` blocks taken whole. Each one must match a handler below, or
``test_every_readme_command_has_a_handler`` fails: a command added to the README needs a
handler here saying how it is exercised.

Commands run for real, in README order (so ``export`` and ``colorize`` use the run the README's
``train`` made, as for a user following it), as written, with:

* ``python`` -> this interpreter, ``~`` -> a fresh, empty HOME (no Kaggle credentials, no
  Keras cache, nothing downloaded), cwd = a fresh workspace holding the user files the README
  names (``my_color_art/``, ``my_sketch.png``, ``sketches/``, ``sketch.png``) and links to the
  checkout's ``data_scripts/`` and ``benchmarks/`` (the README runs them from the checkout root);
* size-limiting flags APPENDED to long jobs (argparse: the later flag wins);
* ``SKETCH2COLOR_CACHE`` in the workspace, and proxies pointing at a closed local port so that
  anything trying the network fails at once instead of downloading.

``pip install`` is not run (the extras it names must exist in setup.cfg) and ``python -m pytest``
is what CI runs (which runs this file). The Python snippets run as scripts in the workspace,
followed by a few assertions of what their comments claim.
"""

from __future__ import annotations

import configparser
import dataclasses
import glob
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import DEAD_PROXY

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SIZE = 32  # training size of every README training command here (multiple of 16: a 5-level U-Net)
EMBEDDED = ("40", "8")  # embedded train / val pairs; the same as the README's Python API snippet
TIMEOUT = 300

OK_MARK = "README-SNIPPET-OK"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------- README parsing

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELL_OPERATORS = {"&&"}  # anything else (|, ;, >, ...) needs the parser and handlers extended
ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")  # `NAME=value command`: the shell's prefix


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing the README tells a user to run: a shell command or a Python snippet."""

    kind: str  # "bash" or "python"
    line: int  # README line of the command (of the block's first line for Python)
    text: str  # the command as written (comment stripped), or the snippet's source
    argv: tuple[str, ...] = ()  # the command's words (bash only)

    @property
    def label(self) -> str:
        first = (
            self.text
            if self.kind == "bash"
            else next(line for line in self.text.splitlines() if line.strip())
        )
        return f"L{self.line}: {first[:70]}"


def readme_steps(text: str) -> tuple[list[Step], list[str]]:
    """(steps in README order, problems) of every ```bash and ```python block of ``text``."""
    steps, problems = [], []
    for match in FENCE.finditer(text):
        language, body = match.group(1).lower(), match.group(2)
        first_line = text.count("\n", 0, match.start()) + 2
        if language == "python":
            steps.append(Step("python", first_line, body))
            continue
        if language not in ("bash", "sh", "shell", "console"):
            if language:
                problems.append(
                    f"README line {first_line - 1}: a ```{language} block: no handler for this language"
                )
            continue
        logical, start = "", None
        for offset, raw in enumerate(body.splitlines()):
            start = first_line + offset if start is None else start
            if raw.rstrip().endswith("\\"):  # line continuation
                logical += raw.rstrip()[:-1] + " "
                continue
            logical += raw
            try:
                words = split_shell(logical)
            except ValueError as error:
                problems.append(f"README line {start}: cannot parse {logical!r}: {error}")
                words = []
            command: list[str] = []
            for word in words + ["&&"]:
                if word in SHELL_OPERATORS:
                    if command:
                        steps.append(
                            Step(
                                "bash",
                                start,
                                " ".join(
                                    w if w and not set(w) & set(" '\"") else shlex.quote(w) for w in command
                                ),
                                tuple(command),
                            )
                        )
                    command = []
                elif set(word) <= set("|;&<>()"):
                    problems.append(
                        f"README line {start}: shell operator {word!r} in {logical.strip()!r} "
                        "is not supported here"
                    )
                else:
                    command.append(word)
            logical, start = "", None
    return steps, problems


def split_shell(line: str) -> list[str]:
    """Shell words of one line: quotes removed, ``# comments`` dropped, operators as own words."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def test_readme_parser_on_a_sample():
    sample = textwrap.dedent("""\
        ```bash
        pip install -e ".[dev]" && python -m pytest   # the suite
        python tool.py --x "a # b" \\
            --y 2
        ```
        ```python
        print(1)
        ```
        ```text
        not a command
        ```
        """)
    steps, problems = readme_steps(sample)
    assert [s.argv for s in steps if s.kind == "bash"] == [
        ("pip", "install", "-e", ".[dev]"),
        ("python", "-m", "pytest"),
        ("python", "tool.py", "--x", "a # b", "--y", "2"),
    ]
    assert [s.line for s in steps] == [2, 2, 3, 7]
    assert steps[-1].kind == "python" and steps[-1].text == "print(1)\n"
    assert problems == ["README line 9: a ```text block: no handler for this language"]
    _, problems = readme_steps("```bash\nls | head\n```\n")
    assert problems and "'|'" in problems[0]


# --------------------------------------------------------------------------- the workspace


@dataclasses.dataclass
class Workspace:
    """Where the README's commands run, as a user following it; results by step."""

    root: Path
    results: dict = dataclasses.field(default_factory=dict)

    @property
    def cwd(self) -> Path:
        return self.root / "work"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KAGGLE", "PYTEST")) and k.lower() not in ("no_proxy", "xdg_config_home")
        }
        env.update(
            HOME=str(self.home),
            SKETCH2COLOR_CACHE=str(self.root / "cache"),
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),  # = pip install -e .
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            TF_CPP_MIN_LOG_LEVEL="2",
            CUDA_VISIBLE_DEVICES="-1",
            PYTHONUNBUFFERED="1",
            MPLBACKEND="Agg",
            HTTP_PROXY=DEAD_PROXY,
            HTTPS_PROXY=DEAD_PROXY,
            http_proxy=DEAD_PROXY,
            https_proxy=DEAD_PROXY,
            ALL_PROXY=DEAD_PROXY,
        )
        return env

    def expand(self, word: str) -> str:
        """What the shell makes of a word: ``~`` is HOME."""
        return str(self.home) + word[1:] if word == "~" or word.startswith("~/") else word

    def run(self, argv, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        """A command as the shell would run it, ``python`` being this interpreter and leading
        ``NAME=value`` words setting the command's environment."""
        env, argv = self.env(), [self.expand(w) for w in argv]
        while argv and ENV_ASSIGNMENT.match(argv[0]):
            name, value = argv.pop(0).split("=", 1)
            env[name] = value
        if argv[0] == "python":
            argv[0] = sys.executable
        return subprocess.run(argv, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=timeout)


def color_art(path: Path, height: int, width: int, seed: int) -> None:
    """A flat-colored illustration with a few shapes (lines for the sketch extractors)."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 235, np.uint8)
    for _ in range(4):
        color = tuple(int(c) for c in rng.integers(0, 220, 3))
        center = (
            int(rng.integers(width // 4, 3 * width // 4)),
            int(rng.integers(height // 4, 3 * height // 4)),
        )
        cv2.circle(image, center, min(height, width) // 5, color, thickness=-1)
    Image.fromarray(image).save(path)


def line_art(path: Path, height: int, width: int, seed: int) -> None:
    """A black-on-white sketch of any size (the exported model takes any size)."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 255, np.uint8)
    for _ in range(5):
        a, b = (tuple(int(v) for v in rng.integers(0, (width, height))) for _ in range(2))
        cv2.line(image, a, b, (0, 0, 0), 1)
    Image.fromarray(image).save(path)


COLOR_ART = {"portrait.png": (90, 70), "landscape.jpg": (60, 100), "square.png": (64, 64)}
SKETCHES = {"a.png": (40, 56), "b.png": (48, 48)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """An empty HOME, a cache, and a checkout-like cwd holding the user files the README names."""
    ws = Workspace(tmp_path_factory.mktemp("readme"))
    for folder in (ws.cwd, ws.home, ws.root / "cache", ws.cwd / "my_color_art", ws.cwd / "sketches"):
        folder.mkdir(parents=True, exist_ok=True)
    for name in ("data_scripts", "benchmarks", "notebooks"):
        (ws.cwd / name).symlink_to(REPO / name, target_is_directory=True)
    for seed, (name, (height, width)) in enumerate(COLOR_ART.items()):
        color_art(ws.cwd / "my_color_art" / name, height, width, seed)
    for seed, (name, (height, width)) in enumerate(SKETCHES.items()):
        line_art(ws.cwd / "sketches" / name, height, width, 10 + seed)
    line_art(ws.cwd / "my_sketch.png", 52, 36, 20)
    line_art(ws.cwd / "sketch.png", 44, 60, 21)
    return ws


def stand_in_dataset(root: Path) -> None:
    """Synthetic pairs in the Kaggle layout (root/train, root/val), where a download would put them."""
    from sketch2color.data.embedded import write_dataset

    write_dataset(root, n_train=8, n_val=4, height=SIZE, progress=False)


def describe(result: subprocess.CompletedProcess) -> str:
    args = " ".join(map(str, result.args)) if isinstance(result.args, (list, tuple)) else result.args
    return (
        f"{args}\nexit {result.returncode}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}"
    )


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, describe(result)


def assert_png(path: Path) -> tuple[int, int]:
    """A complete PNG; returns its (width, height)."""
    from PIL import Image

    assert path.is_file(), f"{path} missing"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.load()
        return image.size


def option(argv, flag: str, default=None):
    """The value of the last ``flag VALUE`` (argparse: the later one wins)."""
    values = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == flag]
    return values[-1] if values else default


def positionals(argv, start: int, flags_with_values: set[str]) -> list[str]:
    """The positional words of ``argv[start:]``."""
    out, skip = [], False
    for word in argv[start:]:
        if skip:
            skip = False
        elif word in flags_with_values:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


# --------------------------------------------------------------------------- handlers


@dataclasses.dataclass(frozen=True)
class Handler:
    """How commands starting with ``prefix`` are exercised."""

    prefix: tuple[str, ...]
    how: str  # one line, for the reader of this file
    append: tuple[str, ...] = ()  # flags appended to the command as written
    check: Callable | None = None  # check(step, argv, result, ws); None: not run (see how)


def check_pip_install(step: Step, ws: Workspace) -> None:
    """``pip install [-e] .[extras]``: this checkout is installable and the extras exist."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    extras = set(parser["options.extras_require"]) if parser.has_section("options.extras_require") else set()
    targets = [w for w in step.argv[2:] if not w.startswith("-")]
    assert targets, f"{step.label}: nothing to install"
    for target in targets:
        match = re.fullmatch(r"\.(?:\[([\w,\s-]*)\])?", target)
        assert match, f"{step.label}: pip target {target!r} is not this checkout; add a handler for it"
        named = {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}
        assert named <= extras, (
            f"{step.label}: extras {sorted(named - extras)} not in setup.cfg (has {sorted(extras)})"
        )
    assert (REPO / "setup.cfg").is_file() and (REPO / "pyproject.toml").is_file()


def check_pytest(step: Step, ws: Workspace) -> None:
    """``python -m pytest`` is what CI runs (it runs this file): it must collect this file, unfiltered."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    options = parser["tool:pytest"]
    assert "tests" in options.get("testpaths", "").split(), "python -m pytest would not collect tests/"
    addopts = options.get("addopts", "")
    assert "-m" not in shlex.split(addopts) and "--ignore" not in addopts, (
        f"addopts {addopts!r} filters tests"
    )
    assert step.argv == ("python", "-m", "pytest"), f"{step.label}: extra pytest arguments need a handler"


def check_ruff(step: Step, ws: Workspace) -> None:
    """``ruff check .`` from the checkout root: the linter the dev extra installs finds nothing."""
    assert step.argv == ("ruff", "check", "."), f"{step.label}: other ruff arguments need a handler"
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, describe(result)


def check_jupytext_sync(step: Step, ws: Workspace) -> None:
    """``jupytext --sync notebooks/*.py`` on a copy of the notebooks: the committed pairs are
    already in sync."""
    copy = ws.root / "notebooks-sync"
    shutil.copytree(REPO / "notebooks", copy / "notebooks", dirs_exist_ok=True)
    before = {path.name: path.read_bytes() for path in (copy / "notebooks").glob("*.ipynb")}
    argv = [sys.executable, "-m", "jupytext"] + [
        match
        for word in step.argv[1:]
        for match in (sorted(glob.glob(word, root_dir=copy)) if "*" in word else [word])
    ]
    result = subprocess.run(argv, cwd=copy, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, describe(result)
    after = {path.name: path.read_bytes() for path in (copy / "notebooks").glob("*.ipynb")}
    assert before and after == before, "jupytext --sync changed a committed notebook: a pair is out of sync"


def check_train(step, argv, result, ws) -> None:
    """The run directory the README names holds everything it says a run writes."""
    assert_ok(result)
    data = option(argv, "--data")
    name = "embedded" if data is None else Path(ws.expand(data)).resolve().name
    relative = Path(
        option(argv, "--run-dir") or f"runs/{option(argv, '--preset', 'pix2pix')}-{name}"
    )  # README's default
    run_dir = ws.cwd / relative
    assert f"run directory: {relative}" in result.stdout, describe(result)
    for part in (
        "config.json",
        "history.csv",
        "losses.png",
        "checkpoints",
        "logs",
        "export/saved_model",
        "export/generator.keras",
    ):
        assert (run_dir / part).exists(), f"{run_dir / part} missing after {step.text}"
    assert sorted((run_dir / "previews").glob("epoch_*.png")), f"no previews/epoch_NNNN.png in {run_dir}"
    assert_png(run_dir / "losses.png")
    import json

    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"]["image_size"] == SIZE, "the appended size flags were not applied"
    if data is None:
        assert config["data"]["data_dir"] is None  # the embedded dataset


def check_export(step, argv, result, ws) -> None:
    assert_ok(result)
    run_dir, *rest = positionals(argv, 3, set())
    out = ws.cwd / (rest[0] if rest else f"{run_dir}/export")
    assert (out / "saved_model" / "saved_model.pb").is_file(), f"no SavedModel in {out}"
    assert (out / "generator.keras").is_file(), f"no generator.keras in {out}"


def check_colorize(step, argv, result, ws) -> None:
    """One PNG per input file, named after it, of the input's size."""
    from PIL import Image

    assert_ok(result)
    inputs = positionals(
        argv, 3, {"--model", "--out", "--input-kind", "--sketch-side", "--reference", "--palette", "--hints"}
    )
    files = [
        f
        for entry in map(ws.cwd.joinpath, inputs)
        for f in (sorted(entry.iterdir()) if entry.is_dir() else [entry])
    ]
    assert files, inputs
    out = ws.cwd / option(argv, "--out")
    for source in files:
        with Image.open(source) as image:
            size = image.size
        assert assert_png(out / f"{source.stem}.png") == size, f"{out / source.stem}.png is not {size}"
    assert f"colorized {len(files)} of {len(files)}" in result.stdout, describe(result)


def check_evaluate(step, argv, result, ws) -> None:
    """The report (JSON, Markdown table with the baselines, samples) where the README says."""
    assert_ok(result)
    model = ws.cwd / option(argv, "--model")
    default = (
        model / f"evaluation-{option(argv, '--split', 'val')}" if (model / "config.json").is_file() else None
    )
    out = ws.cwd / option(argv, "--out") if option(argv, "--out") else default
    assert out is not None, f"{step.label}: add where the report of a non-run --model goes"
    for name in ("report.json", "report.md"):
        assert (out / name).is_file(), f"{out / name} missing"
    assert_png(out / "samples.png")
    assert "| model |" in result.stdout and "baseline" in result.stdout, describe(result)


def check_download(step, argv, result, ws) -> None:
    """No credentials and no network: exit 2 with an ``error:`` message, nothing downloaded.

    Then the test stands in for the download (synthetic pairs in --dest, which later README
    commands use) and runs the command again: it must see the data and not download.
    """
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    assert result.stderr.lstrip().startswith("error:"), describe(result)
    assert "pip install" in result.stderr or "kaggle.json" in result.stderr, describe(
        result
    )  # says what to do
    dest = Path(ws.expand(option(argv, "--dest", "anime-sketch-colorization-pair")))
    dest = dest if dest.is_absolute() else ws.cwd / dest
    assert not dest.exists() or not any(dest.rglob("*.png")), f"something was downloaded into {dest}"
    stand_in_dataset(dest)
    again = ws.run(argv)
    assert_ok(again)
    assert "already holds the dataset" in again.stdout and f"--data {dest}" in again.stdout, describe(again)


def check_make_pairs(step, argv, result, ws) -> None:
    """One 2:1 pair of the requested size per source image, in OUT/train or OUT/val."""
    assert_ok(result)
    src, out = (ws.cwd / p for p in positionals(argv, 2, {"--method", "--size", "--val-fraction", "--seed"}))
    size = int(option(argv, "--size"))
    pairs = sorted((out / "train").glob("*.png")) + sorted((out / "val").glob("*.png"))
    assert len(pairs) == len(list(src.iterdir())), (pairs, list(src.iterdir()))
    for pair in pairs:
        assert assert_png(pair) == (2 * size, size)


def check_verify(step, argv, result, ws) -> None:
    assert_ok(result)
    assert_png(ws.cwd / option(argv, "--preview", "dataset_preview.png"))


def check_app(step: Step, ws: Workspace) -> None:
    """``python -m sketch2color.app --model RUN``: serves the README's run on 127.0.0.1 until stopped."""
    run_step(step, ws)  # the README's earlier steps first (the training run it loads)
    argv = [sys.executable if w == "python" else ws.expand(w) for w in step.argv]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = ws.root / "app.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            argv + ["--port", str(port)], cwd=ws.cwd, env=ws.env(), stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        config = None
        while config is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
                    config = json.loads(response.read())
            except OSError:
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert config is not None, f"{step.label}: the app did not serve:\n{log.read_text()[-3000:]}"
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "Model `" in texts and "preset **pix2pix**" in texts, texts[:2000]


def check_latency_benchmark(step, argv, result, ws) -> None:
    """It ran and printed latencies (seconds)."""
    assert_ok(result)
    assert re.search(r"\d+\.\d+ s", result.stdout), describe(result)


def check_multi_worker_refused(step, argv, result, ws) -> None:
    """Multi-worker training is blocked upstream: one ``error:`` line naming the Keras issue, exit 2."""
    assert result.returncode == 2, describe(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "keras-team/keras#20585" in errors[0], describe(result)
    assert "Traceback" not in result.stderr, describe(result)


def check_benchmark(step, argv, result, ws) -> None:
    """It ran and printed a table of rates (a figure per second)."""
    assert_ok(result)
    assert re.search(r"\d+\.\d+", result.stdout) and "/s" in result.stdout, describe(result)


def check_vs_torch_benchmark(step, argv, result, ws) -> None:
    """Without torch (CI): the skip message and exit 0; with it: the table of rates."""
    if importlib.util.find_spec("torch") is None:
        assert_ok(result)
        assert "skipped: PyTorch is not installed" in result.stdout, describe(result)
    else:
        check_benchmark(step, argv, result, ws)


def check_real_art_benchmark(step, argv, result, ws) -> None:
    """With ../shared beside the checkout: the table (both weight copies of each run); without it,
    exit 2 naming where the images are expected."""
    if not (REPO.parent / "shared" / "data" / "anime_faces").is_dir():
        assert result.returncode == 2 and "anime_faces" in result.stderr, describe(result)
        return
    check_benchmark(step, argv, result, ws)
    assert "pix2pix+tv_weight=10 (EMA)" in result.stdout, describe(result)
    # FID/KID columns when InceptionV3 weights are on disk, else a line saying they were not computed
    assert "FID ↓" in result.stdout or "FID/KID not computed" in result.stdout, describe(result)
    assert (ws.cwd / "bench" / "real_art.json").is_file(), describe(result)


# The several-machines example, as the shell passes it (quotes removed).
README_TF_CONFIG = (
    'TF_CONFIG={"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)

TRAIN_LIMITS = (
    "--image-size",
    str(SIZE),
    "--batch-size",
    "2",
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--validation-steps",
    "1",
    "--preview-samples",
    "2",
    "--metrics-images",
    "2",
    "--fid-every",
    "0",
    "--embedded-train",
    EMBEDDED[0],
    "--embedded-val",
    EMBEDDED[1],
)

HANDLERS = (
    Handler(
        ("pip", "install"),
        "not run: the target must be this checkout and the extras it names exist in setup.cfg",
    ),
    Handler(
        ("python", "-m", "pytest"),
        "not run here: CI runs it (and with it this file); setup.cfg must collect tests/ unfiltered",
    ),
    Handler(
        ("python", "-m", "sketch2color.train"),
        "run, + tiny size flags; checks the run folder the README describes",
        TRAIN_LIMITS,
        check_train,
    ),
    Handler(
        ("python", "-m", "sketch2color.export"),
        "run as written; SavedModel + generator.keras in RUN_DIR/export",
        (),
        check_export,
    ),
    Handler(
        ("python", "-m", "sketch2color.colorize"),
        "run as written on tiny sketches of odd sizes; one same-size PNG per input",
        (),
        check_colorize,
    ),
    Handler(
        ("python", "-m", "sketch2color.evaluate"),
        "run, + --no-fid --max-images 4 (no Inception weights offline)",
        ("--no-fid", "--max-images", "4"),
        check_evaluate,
    ),
    Handler(
        ("python", "data_scripts/download_kaggle.py"),
        "run with an empty HOME, no Kaggle variables, dead proxy: exit 2 + error message; "
        "then synthetic pairs stand in for the download and a rerun must find them",
        (),
        check_download,
    ),
    Handler(("python", "data_scripts/make_pairs.py"), "run, + --size 32", ("--size", "32"), check_make_pairs),
    Handler(
        ("python", "data_scripts/verify_dataset.py"),
        "run as written on the (stand-in) downloaded folder",
        (),
        check_verify,
    ),
    Handler(
        ("python", "benchmarks/bench_data.py"),
        "run, + its smallest options (~30 s: one traced 256 px pix2pix step is its floor)",
        ("--repeats", "1", "--embedded", "2", "--train-steps", "1"),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_synthetic.py"),
        "run, + its smallest options",
        ("--height", "64", "--pairs", "2", "--runs", "1", "--write-pairs", "2"),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_train.py"),
        "run, + --quick (one 64 px row, no memory subprocess)",
        ("--quick", "--steps", "2", "--repeats", "1"),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_vs_torch.py"),
        "run, + --quick (one 64 px row, 2 steps); without torch it must skip with a message, exit 0",
        ("--quick",),
        check_vs_torch_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_presets.py"),
        "run, + a 2 s budget on two presets at 32 px, table written into the workspace (not the checkout)",
        (
            "--budget-seconds",
            "2",
            "--image-size",
            "32",
            "--presets",
            "pix2pix,convnet-l2",
            "--eval-images",
            "4",
            "--embedded-train",
            EMBEDDED[0],
            "--embedded-val",
            EMBEDDED[1],
            "--out",
            "bench/presets.md",
        ),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_real_art.py"),
        "run, + --quick (200 faces, 64 px, 10 CPU-s) on pix2pix and a TV variant, written into the workspace",
        ("--quick", "--presets", "pix2pix,pix2pix+tv_weight=10", "--out", "bench/real_art.md"),
        check_real_art_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_distribute.py"),
        "run, + --quick (32 px, 8 filters) and the fewest steps",
        ("--quick", "--steps", "2", "--repeats", "1"),
        check_benchmark,
    ),
    Handler(
        (README_TF_CONFIG, "python", "-m", "sketch2color.train"),
        "run with that TF_CONFIG: multi-worker is refused at once (keras-team/keras#20585), exit 2",
        (),
        check_multi_worker_refused,
    ),
    Handler(("ruff", "check"), "run from the checkout root: no lint warning on the whole tree"),
    Handler(
        ("python", "-m", "sketch2color.app"),
        "launched on a free loopback port with the README's run; its page names the model; then stopped",
    ),
    Handler(
        ("python", "benchmarks/bench_step_profile.py"),
        "run, + one 32 px row, one step, the fused Adam only",
        ("--rows", "32x1", "--steps", "1", "--adam", "fused"),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_inference.py"),
        "run, + a 64 px sketch and one repeat",
        ("--size", "64", "--repeats", "1"),
        check_latency_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_fit_tail.py"),
        "run, + two fits of two steps at 32 px",
        ("--fits", "2", "--steps", "2", "--image-size", "32"),
        check_benchmark,
    ),
    Handler(
        ("python", "benchmarks/bench_app.py"),
        "run, + one small size and one repeat",
        ("--sizes", "64", "--repeats", "1"),
        check_latency_benchmark,
    ),
    Handler(
        ("jupytext", "--sync"), "run on a copy of notebooks/: no committed .ipynb changes (pairs in sync)"
    ),
    Handler(
        ("python", "benchmarks/bench_metrics.py"),
        "run, + its smallest options",
        ("--repeats", "1", "--images", "4", "--batch-size", "2", "--skip-sqrtm"),
        check_benchmark,
    ),
)


def handler_for(step: Step) -> Handler | None:
    """The handler with the longest prefix of the command's words."""
    matches = [h for h in HANDLERS if step.argv[: len(h.prefix)] == h.prefix]
    return max(matches, key=lambda h: len(h.prefix), default=None)


# Python snippets: identified by a line they contain; the epilogue checks what their comments say.
@dataclasses.dataclass(frozen=True)
class Snippet:
    marker: str
    how: str
    epilogue: str


SNIPPETS = (
    Snippet(
        "tf.saved_model.load(",
        "run in the workspace after export (sketch.png: 44x60); color must be uint8 of the sketch's size",
        """
        _sketch = tf.io.decode_png(tf.io.read_file("sketch.png"), channels=3)
        assert color.dtype == tf.uint8, color.dtype
        assert tuple(color.shape) == (1, *_sketch.shape), (color.shape, _sketch.shape)
        """,
    ),
    Snippet(
        "from sketch2color.training import train",
        "run as written (README sizes it as a small demo); checks the shapes its comments state and the run",
        """
        import numpy as _np
        from pathlib import Path as _Path
        assert tuple(sketch.shape) == (4, 128, 128, 3) and tuple(color.shape) == (4, 128, 128, 3)
        assert -1.0 <= float(_np.min(sketch)) and float(_np.max(sketch)) <= 1.0
        assert -1.0 <= float(_np.min(color)) and float(_np.max(color)) <= 1.0
        _x = _np.zeros((1, 256, 256, 3), _np.float32)
        assert tuple(generator(_x).shape) == (1, 256, 256, 3)
        assert tuple(discriminator([_x, _x]).shape) == (1, 30, 30, 1)
        assert result.epochs_done == 2, result
        assert (_Path(config.run_dir) / "export" / "saved_model").is_dir()
        """,
    ),
)


def snippet_for(step: Step) -> Snippet | None:
    matches = [s for s in SNIPPETS if s.marker in step.text]
    return matches[0] if len(matches) == 1 else None


# --------------------------------------------------------------------------- the tests

STEPS, PROBLEMS = readme_steps(README.read_text(encoding="utf-8"))


def test_readme_has_commands():
    kinds = {s.kind for s in STEPS}
    assert kinds == {"bash", "python"}, kinds
    assert any(s.argv[:3] == ("python", "-m", "sketch2color.train") for s in STEPS)


def test_every_readme_command_has_a_handler():
    uncovered = [s.label for s in STEPS if (handler_for(s) if s.kind == "bash" else snippet_for(s)) is None]
    assert not PROBLEMS and not uncovered, (
        "README commands that tests/test_readme.py does not exercise; add a Handler / Snippet for them:\n"
        + "\n".join(PROBLEMS + uncovered)
    )


def run_step(step: Step, ws: Workspace):
    """Run one README step (once); returns (argv or None, result or None)."""
    if step in ws.results:
        return ws.results[step]
    # Earlier steps first: a user follows the README in order.
    for earlier in STEPS[: STEPS.index(step)]:
        if earlier not in ws.results:
            try:
                run_step(earlier, ws)
            except Exception:  # noqa: BLE001 - its own test reports it
                ws.results.setdefault(earlier, (None, None))
    if step.kind == "python":
        snippet = snippet_for(step)
        script = ws.cwd / f"readme_snippet_L{step.line}.py"
        epilogue = textwrap.dedent(snippet.epilogue) if snippet else ""
        script.write_text(
            step.text + "\n# --- tests/test_readme.py checks\n" + epilogue + f"print({OK_MARK!r})\n"
        )
        outcome = (None, ws.run(["python", script.name]))
    else:
        handler = handler_for(step)
        if handler is None or handler.check is None:
            outcome = (None, None)
        else:
            argv = list(step.argv) + list(handler.append)
            for word in argv:  # a user's own data under ~ (e.g. ~/data/anime-pairs): the download's stand-in
                path = Path(ws.expand(word))
                if word.startswith("~/") and handler.check is not check_download and not path.exists():
                    stand_in_dataset(path)
            outcome = (argv, ws.run(argv))
    ws.results[step] = outcome
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS, ids=[s.label for s in STEPS])
def test_readme_step(step: Step, workspace: Workspace):
    if step.kind == "python":
        if snippet_for(step) is None:
            pytest.fail(f"{step.label}: no Snippet handler (see test_every_readme_command_has_a_handler)")
        _, result = run_step(step, workspace)
        assert_ok(result)
        assert OK_MARK in result.stdout, describe(result)
        assert "Traceback" not in result.stderr, describe(result)
        return
    handler = handler_for(step)
    if handler is None:
        pytest.fail(f"{step.label}: no Handler (see test_every_readme_command_has_a_handler)")
    if handler.prefix == ("pip", "install"):
        check_pip_install(step, workspace)
    elif handler.prefix == ("python", "-m", "pytest"):
        check_pytest(step, workspace)
    elif handler.prefix == ("ruff", "check"):
        check_ruff(step, workspace)
    elif handler.prefix == ("python", "-m", "sketch2color.app"):
        check_app(step, workspace)
    elif handler.prefix == ("jupytext", "--sync"):
        check_jupytext_sync(step, workspace)
    else:
        argv, result = run_step(step, workspace)
        assert result is not None, f"{step.label} did not run"
        handler.check(step, argv, result, workspace)
