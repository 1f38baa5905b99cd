"""Module structure: the packages are layers, and imports only go down.

Every genrm module belongs to a layer (its package under `genrm`); a module may import from its own layer and the
layers before it in `LAYERS`, never from a later one, and no set of modules imports itself around a circle. Every
import counts: module level, inside functions, and type-only (`if TYPE_CHECKING:`), since each is a dependency
of the code. `genrm/__init__.py` (lazy exports, old module paths) and `__main__` stand outside the layers;
modules may import `genrm` itself (its `__version__`). Torch-free imports: tests/test_engine.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import genrm

SRC = Path(genrm.__file__).parent
LAYERS = (
    "core",
    "tasks",
    "models",
    "engines",
    "data",
    "verifiers",
    "analysis",
    "report",
    "pipeline",
    "serving",
    "benchmarks",
    "integrations",
    "sweep",
    "cli",
)
MAX_LINES = 460  # "about 450": no module holds more than one concern


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The genrm modules that `path` imports anywhere in its code, `from pkg import name` counted as pkg.name
    when that is a module (else as pkg)."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "genrm")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            if target.split(".")[0] != "genrm":
                continue
            for a in node.names:
                out.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
    return {t for t in out if t != module}


def graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {m: imports_of(p, set(files)) for m, p in files.items()}


def layer(module: str) -> int | None:
    """Index of the module's layer in LAYERS; None for genrm itself and genrm.__main__."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def upward(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, targets in sorted(g.items()):
        if layer(m) is None:
            continue
        for t in sorted(targets):
            if t != "genrm" and (layer(t) is None or layer(t) > layer(m)):  # type: ignore[operator]
                bad.append(f"{m} -> {t}")
    return bad


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def dfs(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(g.get(m, ())):
            if state.get(t) == 1:
                found.append(stack[stack.index(t) :] + [t])
            elif t not in state:
                dfs(t, [*stack, t])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            dfs(m, [m])
    return found


def test_every_module_has_a_layer():
    g = graph()
    assert not [m for m in g if m not in ("genrm", "genrm.__main__") and layer(m) is None]
    assert {m.split(".")[1] for m in g if layer(m) is not None} == set(LAYERS)


def test_graph_sees_imports():
    """The reader finds module-level, function-level and `from package import module` imports."""
    g = graph()
    assert "genrm.verifiers" in g["genrm.serving.reward"]  # module level
    assert "genrm.pipeline.pretrain" in g["genrm.sweep.runner"]  # inside a function
    assert "genrm.core.steps" in g["genrm.core.types"]  # type-only, inside a method
    assert "genrm.integrations.guard" in g["genrm.integrations.verl"]  # from genrm.integrations import guard


def test_no_import_goes_up_a_layer():
    assert not upward(graph()), "imports from a later layer:\n" + "\n".join(upward(graph()))


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_checks_catch_what_they_are_for():
    """An upward import and a circle planted in a copy of the real graph are reported."""
    g = {m: set(ts) for m, ts in graph().items()}
    g["genrm.core.config"].add("genrm.serving.reward")  # configuration validation importing the reward server
    assert upward(g) == ["genrm.core.config -> genrm.serving.reward"]
    g = {m: set(ts) for m, ts in graph().items()}
    g["genrm.engines.shared_prefix"].add("genrm.engines.hf")
    assert ["genrm.engines.hf", "genrm.engines.shared_prefix", "genrm.engines.hf"] in cycles(g)


@pytest.mark.parametrize(
    "module, forbidden",
    [("genrm.core.config", "genrm.serving"), ("genrm.report.card", "genrm.pipeline")],
)
def test_named_dependencies_are_gone(module, forbidden):
    """Configuration validation does not import the reward server; a model card does not import the pipeline."""
    assert not [t for t in graph()[module] if t == forbidden or t.startswith(forbidden + ".")]


def test_modules_stay_small():
    big = {_module_name(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


@pytest.mark.parametrize("index, package", list(enumerate(LAYERS[:-1], 1)))
def test_each_package_says_what_it_owns_and_imports(index, package):
    doc = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text())) or ""
    assert doc.startswith(f"Layer {index}, {package}:"), f"genrm.{package}'s docstring does not name its layer"
    assert "owns" in doc.lower() and "Imports:" in doc, (
        f"genrm.{package}'s docstring does not say what it owns and imports"
    )
