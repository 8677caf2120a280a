"""The tutorial notebooks: committed clean, and runnable top to bottom (with tiny parameters).

Each notebook has one code cell tagged "parameters" (papermill convention). The execution
test inserts a cell right after it that overrides the parameters with tiny values, runs the
notebook in a fresh "python3" kernel whose working directory is a temporary folder, with the
embedded dataset cached in a per-session temporary folder (never ~/.cache), and checks that
no cell failed and that the key outputs (pictures, run directory files) appeared.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOK_NAMES = [
    "01_data_pipeline.ipynb",
    "02_models.ipynb",
    "03_training.ipynb",
    "04_evaluate_and_export.ipynb",
]
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
    "01_data_pipeline.ipynb": {"IMAGE_SIZE": 32, "BATCH_SIZE": 2, "N_AUGMENTATIONS": 2, "WORK_DIR": "work-01"},
    "02_models.ipynb": {"IMAGE_SIZE": 32, "BASE_FILTERS": 8},
    "03_training.ipynb": {**TINY_TRAINING, "MORE_EPOCHS": 1, "CHECKPOINT_EVERY": 2, "RUN_DIR": "runs/nb03"},
    "04_evaluate_and_export.ipynb": {**TINY_TRAINING, "RUN_DIR": "runs/nb04", "MAX_EVAL_IMAGES": 4},
}


def read_notebook(name: str):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def parameter_cells(notebook) -> list[int]:
    return [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])]


def assigned_names(source: str) -> set[str]:
    """Names assigned at the top level of a cell (the notebook's parameters)."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
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
            assert cell.outputs == [], f"{name} cell {index} has outputs: clear them (or rebuild the notebooks)"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"
    params = parameter_cells(notebook)
    assert len(params) == 1, f"{name}: expected exactly one 'parameters' cell, found {len(params)}"
    cell = notebook.cells[params[0]]
    assert cell.cell_type == "code"
    names = assigned_names(cell.source)
    assert set(OVERRIDES[name]) <= names, f"{name}: the test overrides unknown parameters {set(OVERRIDES[name]) - names}"
    assert set(TINY_DATA) <= names, f"{name}: missing parameters {set(TINY_DATA) - names}"


def test_notebooks_match_their_generator():
    """notebooks/*.ipynb are what notebooks/build_notebooks.py writes (edit the script, then rebuild)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOK_DIR / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


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
    source = "# Parameters injected by tests/test_notebooks.py\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items())
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)

    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(cache))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
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
    assert list(notebook_cache.glob("embedded-*-n16-v8")), "embedded dataset not generated in SKETCH2COLOR_CACHE"

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
