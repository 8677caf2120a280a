"""The package's shape: imports flow one way, no module imports inside functions, TF-free data files.

Read from the source (``ast``), so a violation is named by file and line without running the code.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sketch2color"

# Lowest first. A module may import from its own part or from a lower layer, never from a higher
# layer nor from another part of its own layer (data and models know nothing of each other).
LAYERS = [
    {"config"},
    {"presets"},
    {"data", "models"},
    {"runs"},
    {"export"},
    {"evaluation"},
    {"training", "app"},  # two users of export that know nothing of each other
    {"cli"},
    {"train", "evaluate", "colorize", "export.__main__", "app.__main__"},  # the `python -m` entry points
]


def part_of(module: str) -> str:
    """The architectural part of a dotted module name below sketch2color ('data', 'cli', ...)."""
    parts = module.split(".")[1:]
    if len(parts) == 2 and parts[1] == "__main__":  # a part's `python -m` entry point sits above cli
        return ".".join(parts)
    return parts[0] if parts else ""


def layer_of(part: str) -> int:
    return next(index for index, members in enumerate(LAYERS) if part in members)


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, ast.Module]:
    return {
        module_name(path): ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))
    }


def imported_modules(module: str, tree: ast.Module) -> list[tuple[str, int]]:
    """(absolute dotted name, line) of every sketch2color module that ``module`` imports."""
    package = module if module in PACKAGE_PACKAGES else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (alias.name, node.lineno) for alias in node.names if alias.name.startswith("sketch2color")
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if not target.startswith("sketch2color"):
                continue
            # `from sketch2color.x import y` may import the submodule x.y: count it when it is one.
            found += [
                (f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target, node.lineno)
                for alias in node.names
            ]
    return found


MODULES = package_modules()
PACKAGE_PACKAGES = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}


def test_every_module_has_a_layer():
    unplaced = sorted({part_of(m) for m in MODULES if part_of(m)} - set().union(*LAYERS))
    assert not unplaced, f"parts of the package missing from LAYERS: {unplaced}"


def test_imports_flow_one_way():
    problems = []
    for module, tree in MODULES.items():
        source = part_of(module)
        if not source:
            continue
        for target, line in imported_modules(module, tree):
            destination = part_of(target)
            if destination == source:
                continue
            if layer_of(destination) >= layer_of(source):
                problems.append(f"{module}:{line} imports {target} ({destination} is not below {source})")
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_no_import_cycles_between_modules():
    graph = {module: set() for module in MODULES}
    for module, tree in MODULES.items():
        for target, _ in imported_modules(module, tree):
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_no_imports_inside_functions():
    """Imports live at the top of a module; only an optional dependency may wait, with a comment saying so."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, (ast.Import, ast.ImportFrom))
                        and "optional" not in lines[inner.lineno - 1]
                    ):
                        problems.append(
                            f"{path.relative_to(PACKAGE.parent)}:{inner.lineno}: "
                            f"{lines[inner.lineno - 1].strip()}"
                        )
    assert not problems, "imports inside functions:\n" + "\n".join(problems)


def test_the_layer_check_catches_a_violation():
    """The checker itself: a data module importing training is reported."""
    tree = ast.parse("from sketch2color.training import train\n")
    targets = imported_modules("sketch2color.data.files", tree)
    assert targets and part_of(targets[0][0]) == "training"
    assert layer_of(part_of(targets[0][0])) > layer_of("data")


def test_data_files_sketches_and_the_renderer_do_not_load_tensorflow():
    """The data scripts start fast: file checks, line art and the procedural renderer are TF-free."""
    code = (
        "import sys\n"
        "import sketch2color.data.files, sketch2color.data.sketch, sketch2color.data.synthetic, "
        "sketch2color.config\n"
        "from sketch2color.data import read_pair, split_of\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
