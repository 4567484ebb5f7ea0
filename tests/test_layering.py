"""Imports only go down the data flow: config -> data -> circuits -> simulator -> backends ->
learning -> diagnostics / sweeps -> studio / viz -> cli, and the UI above all of hqnn_core.

Every ``import`` of the project's own modules (also those inside functions) is read from the
source with ``ast``; an import of a package at the same or a higher level fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Packages of hqnn_core by level; a module may import only lower levels (and its own package).
LEVELS = {
    "errors": 0, "qiskit_thread": 0,
    "config": 1,
    "data": 2,
    "circuits": 3,
    "simulator": 4,
    "backends": 5,
    "learning": 6,
    "diagnostics": 7, "sweeps": 7,
    "studio": 8, "viz": 8,
    "cli": 9, "__main__": 10, "__init__": 10,
}
# Inside learning/, the pipeline order: a module imports only the ones before it.
LEARNING = ["resources", "checkpoint", "recipe", "fronts", "layer", "step_loops",
            "compiled_step", "model", "training", "runs", "inference"]
# The user interface: views/ and app.py may use hqnn_ui, hqnn_ui may not use views/.
UI_LEVELS = {"hqnn_core": 0, "hqnn_ui": 1, "views": 2, "app": 3}


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _where(module: str) -> tuple[str, str | None]:
    """(top-level package of hqnn_core, module inside it) for a ``hqnn_core.*`` name."""
    parts = module.split(".")[1:] or ["__init__"]
    return parts[0], parts[1] if len(parts) > 1 else None


def _core_violations(path: Path, root: Path = ROOT) -> list[str]:
    rel = path.relative_to(root / "hqnn_core").with_suffix("").parts
    group, inner = rel[0], rel[1] if len(rel) > 1 else None
    name = path.relative_to(root)
    out = []
    for line, module in _imports(path, root):
        top = module.split(".")[0]
        if top in ("hqnn_ui", "views", "app", "streamlit"):
            out.append(f"{name}:{line} imports {module}")
        if top != "hqnn_core" or module == "hqnn_core":
            continue
        target, target_inner = _where(module)
        if target not in LEVELS:
            continue  # a name imported from hqnn_core/__init__ (e.g. hqnn_core.fit)
        if target == group:
            if (group == "learning" and inner in LEARNING and target_inner in LEARNING
                    and LEARNING.index(target_inner) >= LEARNING.index(inner)):
                out.append(f"{name}:{line} imports {module} (learning/ goes " + " -> ".join(LEARNING) + ")")
            continue
        if LEVELS[target] >= LEVELS[group]:
            out.append(f"{name}:{line} imports {module} ({target} is not below {group})")
    return out


def test_every_hqnn_core_package_has_a_level() -> None:
    packages = {p.stem if p.is_file() else p.name for p in (ROOT / "hqnn_core").iterdir()
                if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert packages <= set(LEVELS), f"place {sorted(packages - set(LEVELS))} in LEVELS"
    modules = {p.stem for p in (ROOT / "hqnn_core" / "learning").glob("*.py")} - {"__init__"}
    assert modules <= set(LEARNING), f"place {sorted(modules - set(LEARNING))} in LEARNING"


def test_hqnn_core_imports_only_go_down_the_data_flow() -> None:
    violations = [v for path in sorted((ROOT / "hqnn_core").rglob("*.py"))
                  for v in _core_violations(path)]
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_the_ui_sits_above_the_core() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "hqnn_ui").rglob("*.py")),
             *sorted((ROOT / "views").rglob("*.py"))]
    violations = []
    for path in files:
        level = UI_LEVELS[path.relative_to(ROOT).with_suffix("").parts[0]]
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in UI_LEVELS and top != path.relative_to(ROOT).parts[0].removesuffix(".py") \
                    and UI_LEVELS[top] >= level:
                violations.append(f"{name}:{line} imports {module}")
    assert not violations, "upward imports:\n" + "\n".join(violations)


@pytest.mark.parametrize("where, source, expected", [
    ("data/extra.py", "from hqnn_core.learning.model import build_model",
     "learning is not below data"),
    ("simulator/extra.py", "from hqnn_core import backends", "backends is not below simulator"),
    ("learning/layer.py", "from hqnn_core.learning.training import fit", "learning/ goes"),
    ("cli.py", "import hqnn_ui.state", "imports hqnn_ui.state"),
    ("learning/model.py", "from . import layer", None),
])
def test_an_upward_import_is_caught(tmp_path: Path, where: str, source: str,
                                    expected: str | None) -> None:
    module = tmp_path / "hqnn_core" / where
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n", encoding="utf-8")
    violations = _core_violations(module, tmp_path)
    if expected is None:
        assert not violations
    else:
        assert any(expected in v for v in violations), violations
