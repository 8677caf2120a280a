"""The tutorial notebooks: committed clean, paired with their source, and runnable top to bottom.

The source of each notebook is a jupytext percent-format file, notebooks/NN_name.py, paired
with notebooks/NN_name.ipynb (committed without outputs). Edit either side (the .py in an
editor, or the notebook in Jupyter with jupytext installed), then bring the other one up to date:

    jupytext --sync notebooks/0*.py

Each notebook has one code cell tagged "parameters" (papermill convention; in the .py its cell
marker is `# %% tags=["parameters"]`). The execution test inserts a cell right after it that
overrides the parameters with tiny values, runs the notebook in a fresh "python3" kernel whose
working directory is a temporary folder, with the embedded dataset cached in a per-session
temporary folder (never ~/.cache), and checks that no cell failed and that the key outputs
(pictures, run directory files) appeared.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOK_NAMES = [
    "01_data_pipeline.ipynb",
    "02_models.ipynb",
    "03_training.ipynb",
    "04_evaluate_and_export.ipynb",
]
PAIRED_FORMATS = "ipynb,py:percent"  # the "jupytext.formats" metadata of both sides of a pair
CELL_TIMEOUT = 300  # seconds per cell; the whole notebook takes well under a minute

# Shared by every notebook: the same tiny embedded dataset, generated once per session.
TINY_DATA = {"EMBEDDED_TRAIN": 16, "EMBEDDED_VAL": 8, "SEED": 0}
TINY_TRAINING = {
    "IMAGE_SIZE": 32,
    "BATCH_SIZE": 2,
    "EPOCHS": 2,
    "STEPS_PER_EPOCH": 3,
    "BASE_FILTERS": 8,
}
OVERRIDES = {
    "01_data_pipeline.ipynb": {
        "IMAGE_SIZE": 32,
        "BATCH_SIZE": 2,
        "N_AUGMENTATIONS": 2,
        "WORK_DIR": "work-01",
    },
    "02_models.ipynb": {"IMAGE_SIZE": 32, "BASE_FILTERS": 8},
    "03_training.ipynb": {**TINY_TRAINING, "MORE_EPOCHS": 1, "CHECKPOINT_EVERY": 2, "RUN_DIR": "runs/nb03"},
    "04_evaluate_and_export.ipynb": {**TINY_TRAINING, "RUN_DIR": "runs/nb04", "MAX_EVAL_IMAGES": 4},
}


def read_notebook(name: str):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def parameter_cells(notebook) -> list[int]:
    return [
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])
    ]


def assigned_names(source: str) -> set[str]:
    """Names assigned at the top level of a cell (the notebook's parameters)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            targets = []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def image_outputs(notebook) -> int:
    return sum(
        1
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )


def all_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def unpaired_files(directory: Path) -> list[str]:
    """Notebooks without their percent-format .py, and NN_*.py sources without their notebook."""
    notebooks = {p.stem for p in directory.glob("*.ipynb")}
    sources = {p.stem for p in directory.glob("[0-9][0-9]_*.py")}
    return sorted(
        [f"{stem}.ipynb has no {stem}.py" for stem in notebooks - sources]
        + [f"{stem}.py has no {stem}.ipynb" for stem in sources - notebooks]
    )


def pairing_problems(ipynb_path: Path, py_path: Path) -> list[str]:
    """Why a notebook and its percent-format .py are not the same notebook ([] when they are).

    Both files are read with jupytext; their cells must agree in type, source and tags, the .py
    must be in the percent format with a python3 kernelspec, both must declare the pairing, and
    the .ipynb must be clean (no outputs, no execution counts).
    """
    import jupytext

    problems = []
    notebook = jupytext.read(ipynb_path)
    text = jupytext.read(py_path)

    representation = text.metadata.get("jupytext", {}).get("text_representation", {})
    if representation.get("format_name") != "percent":
        header = representation or "nothing"
        problems.append(f"{py_path.name}: not a percent-format file (its jupytext header says {header})")
    if text.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append(f"{py_path.name}: the header's kernelspec is not python3")
    for path, nb in ((ipynb_path, notebook), (py_path, text)):
        formats = nb.metadata.get("jupytext", {}).get("formats")
        if formats != PAIRED_FORMATS:
            problems.append(f"{path.name}: jupytext formats {formats!r}, expected {PAIRED_FORMATS!r}")

    def cells(nb):
        return [(cell.cell_type, cell.source, list(cell.metadata.get("tags", []))) for cell in nb.cells]

    ours, theirs = cells(notebook), cells(text)
    if len(ours) != len(theirs):
        problems.append(f"{ipynb_path.name} has {len(ours)} cells, {py_path.name} has {len(theirs)} cells")
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):  # a length mismatch is reported above
        for what, x, y in zip(("type", "source", "tags"), a, b, strict=True):
            if x != y:
                problems.append(
                    f"cell {index}: {what} differs: {ipynb_path.name} {x!r} != {py_path.name} {y!r}"
                )

    for index, cell in enumerate(nbformat.read(ipynb_path, as_version=4).cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"{ipynb_path.name} cell {index} has outputs or an execution count")
    return problems


# --------------------------------------------------------------------------- committed files


def test_every_notebook_is_present():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOK_NAMES


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_committed_notebook_is_clean(name):
    """No outputs, no execution counts, valid nbformat, exactly one code cell tagged "parameters"."""
    notebook = read_notebook(name)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has outputs: clear them (jupytext --sync)"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"
    params = parameter_cells(notebook)
    assert len(params) == 1, f"{name}: expected exactly one 'parameters' cell, found {len(params)}"
    cell = notebook.cells[params[0]]
    assert cell.cell_type == "code"
    names = assigned_names(cell.source)
    unknown = set(OVERRIDES[name]) - names
    assert not unknown, f"{name}: the test overrides unknown parameters {unknown}"
    assert set(TINY_DATA) <= names, f"{name}: missing parameters {set(TINY_DATA) - names}"


def test_every_notebook_is_paired_with_a_percent_py():
    """notebooks/*.ipynb <-> notebooks/NN_*.py, one to one."""
    assert unpaired_files(NOTEBOOK_DIR) == []
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.py")) == [
        name.replace(".ipynb", ".py") for name in NOTEBOOK_NAMES
    ]


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_matches_its_percent_py(name):
    """The .ipynb and its .py hold the same cells (after editing one: `jupytext --sync notebooks/0*.py`)."""
    ipynb_path = NOTEBOOK_DIR / name
    problems = pairing_problems(ipynb_path, ipynb_path.with_suffix(".py"))
    assert problems == [], "\n".join(problems)


def test_pairing_check_catches_one_sided_edits(tmp_path):
    """pairing_problems / unpaired_files fail when only one side of a pair is edited or present."""
    source = NOTEBOOK_DIR / "02_models.ipynb"
    ipynb_path, py_path = tmp_path / source.name, tmp_path / source.with_suffix(".py").name

    def restore():
        ipynb_path.write_bytes(source.read_bytes())
        py_path.write_bytes(source.with_suffix(".py").read_bytes())

    def edit_py(old, new):
        text = py_path.read_text()
        assert old in text
        py_path.write_text(text.replace(old, new, 1))

    def edit_ipynb(change):
        notebook = nbformat.read(ipynb_path, as_version=4)
        change(notebook)
        nbformat.write(notebook, ipynb_path)

    def first(notebook, cell_type):
        return next(cell for cell in notebook.cells if cell.cell_type == cell_type)

    def problems():
        return pairing_problems(ipynb_path, py_path)

    restore()
    assert problems() == []
    assert unpaired_files(tmp_path) == []

    # Only the .py edited: a parameter's value, a markdown line, the parameters tag, a new cell.
    edit_py("SEED = 0", "SEED = 1")
    assert any("source differs" in problem for problem in problems())
    restore()
    edit_py("# # 02", "# # 2")
    assert any("source differs" in problem for problem in problems())
    restore()
    edit_py('# %% tags=["parameters"]\n', "# %%\n")
    assert any("tags differs" in problem for problem in problems())
    restore()
    py_path.write_text(py_path.read_text() + '\n# %%\nprint("one more cell")\n')
    assert any("cells" in problem for problem in problems())

    # Only the .ipynb edited: a markdown cell, a code cell, a tag.
    restore()
    edit_ipynb(lambda nb: setattr(first(nb, "markdown"), "source", first(nb, "markdown").source + " (new)"))
    assert any("source differs" in problem for problem in problems())
    restore()
    edit_ipynb(lambda nb: setattr(first(nb, "code"), "source", first(nb, "code").source + "\nx = 1"))
    assert any("source differs" in problem for problem in problems())
    restore()
    edit_ipynb(lambda nb: first(nb, "code").metadata.update(tags=["parameters"]))
    assert any("tags differs" in problem for problem in problems())

    # The .ipynb saved after running a cell.
    restore()

    def run_first_code_cell(notebook):
        cell = first(notebook, "code")
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]

    edit_ipynb(run_first_code_cell)
    assert any("outputs" in problem for problem in problems())

    # The .py without its jupytext header: not declared percent format nor paired.
    restore()
    text = py_path.read_text()
    py_path.write_text(text[text.index("# %%") :])
    assert any("percent" in problem for problem in problems())

    # One side missing.
    py_path.unlink()
    assert unpaired_files(tmp_path) == ["02_models.ipynb has no 02_models.py"]
    restore()
    ipynb_path.unlink()
    assert unpaired_files(tmp_path) == ["02_models.py has no 02_models.ipynb"]


# --------------------------------------------------------------------------- execution


@pytest.fixture(scope="session")
def notebook_cache(tmp_path_factory) -> Path:
    """The embedded-dataset cache shared by the notebook runs of this session."""
    return tmp_path_factory.mktemp("sketch2color-cache")


def execute(name: str, workdir: Path, cache: Path, monkeypatch):
    """Run a notebook with the tiny parameters injected after its parameters cell; return it."""
    from nbclient import NotebookClient

    notebook = read_notebook(name)
    (index,) = parameter_cells(notebook)
    values = {**TINY_DATA, **OVERRIDES[name]}
    if "DATA_DIR" in assigned_names(notebook.cells[index].source):
        values["DATA_DIR"] = None
    source = "# Parameters injected by tests/notebooks/test_notebooks.py\n" + "\n".join(
        f"{k} = {v!r}" for k, v in values.items()
    )
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)

    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(cache))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", pythonpath)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    finally:
        keep = os.environ.get("SKETCH2COLOR_NOTEBOOK_OUT")  # keep executed copies for inspection
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, Path(keep) / name)
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs(name, tmp_path, notebook_cache, monkeypatch):
    notebook = execute(name, tmp_path, notebook_cache, monkeypatch)
    text = all_text(notebook)
    assert image_outputs(notebook) >= 1, f"{name} produced no picture"
    assert "Traceback" not in text

    # The embedded dataset went to the session cache, not to ~/.cache.
    assert list(notebook_cache.glob("embedded-*-n16-v8")), (
        "embedded dataset not generated in SKETCH2COLOR_CACHE"
    )

    if name == "01_data_pipeline.ipynb":
        assert image_outputs(notebook) >= 6
        assert "files that changed split: []" in text
        assert (tmp_path / "work-01" / "dataset_preview.png").is_file()
    elif name == "02_models.ipynb":
        assert image_outputs(notebook) >= 3
        assert "logit grid 2x2" in text  # 32 px -> a 2x2 grid of patch logits
    elif name == "03_training.ipynb":
        run_dir = tmp_path / "runs" / "nb03"
        previews = sorted(p.name for p in (run_dir / "previews").glob("epoch_*.png"))
        assert previews == ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
        assert list((run_dir / "checkpoints").glob("ckpt-9.index")), "no checkpoint of the resumed run"
        assert (run_dir / "losses.png").is_file() and (run_dir / "history.csv").is_file()
        assert (run_dir / "export" / "saved_model" / "saved_model.pb").is_file()
        assert "steps 6 -> 9, epochs 2 -> 3" in text
        assert "refused:" in text
    elif name == "04_evaluate_and_export.ipynb":
        run_dir = tmp_path / "runs" / "nb04"
        assert "no trained run yet" in text  # trained its own tiny run
        assert (run_dir / "evaluation-val" / "report.json").is_file()
        assert (run_dir / "export" / "saved_model" / "saved_model.pb").is_file()
        assert "-> color (384, 256, 3)" in text  # non-square crop of a 512 px sketch keeps its shape
