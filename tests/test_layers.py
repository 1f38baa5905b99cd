"""Module structure: no import cycles among genrm's modules (torch-free imports: tests/test_engine.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import genrm

SRC = Path(genrm.__file__).parent


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


def _top_level_imports(path: Path) -> set[str]:
    """genrm modules imported when `path` is imported: module-level statements only (not inside functions,
    not under `if TYPE_CHECKING:`), each `from pkg import name` counted as pkg.name when that is a module."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    out: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                continue
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("genrm"))
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                if not target.startswith("genrm"):
                    continue
                out.add(target)
                for a in node.names:
                    if (SRC.parent / Path(*f"{target}.{a.name}".split("."))).with_suffix(".py").exists() or (
                        SRC.parent / Path(*f"{target}.{a.name}".split(".")) / "__init__.py"
                    ).exists():
                        out.add(f"{target}.{a.name}")

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return out


def _graph() -> dict[str, set[str]]:
    mods = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {m: {t for t in _top_level_imports(p) if t in mods and t != m} for m, p in mods.items()}
    # importing a.b.c first imports a and a.b: a package's own submodules importing it back is how Python works
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}


def test_graph_sees_imports():
    g = _graph()
    assert "genrm.verifiers" in g["genrm.reward"] and "genrm.engines.shared_prefix" in g["genrm.engines.hf"]


def test_no_import_cycles():
    g = _graph()
    state: dict[str, int] = {}
    cycles = []

    def dfs(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(g[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t) :] + [t])
            elif t not in state:
                dfs(t, [*stack, t])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            dfs(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
