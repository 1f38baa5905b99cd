"""Nothing users rely on disappears: `tests/public_api.json` was written before the package re-layout (issue 30)
from the code of that time: every name `genrm` exports, every `genrm` command with its options, every module
path and the public names each module defined. Old module paths now resolve to the modules that own the code."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import typer

import genrm

BEFORE = json.loads((Path(__file__).parent / "public_api.json").read_text())
NOT_GENRM = {"TYPE_CHECKING"}  # typing's flag, recorded with the upper-case names a module held


def test_exports_resolve():
    missing = [n for n in BEFORE["exports"] if n not in genrm.__all__]
    assert not missing, f"no longer exported by genrm: {missing}"
    for name in BEFORE["exports"]:
        assert getattr(genrm, name) is not None


def _commands() -> dict[str, list[str]]:
    from genrm.cli import app

    out: dict[str, list[str]] = {}

    def walk(c, prefix: list[str]) -> None:
        if hasattr(c, "commands"):
            for name, sub in c.commands.items():
                walk(sub, [*prefix, name])
        else:
            out[" ".join(prefix)] = sorted(o for p in c.params for o in [*p.opts, *p.secondary_opts])

    walk(typer.main.get_command(app), [])
    return out


def test_commands_and_options_kept():
    now = _commands()
    for command, options in BEFORE["commands"].items():
        assert command in now, f"`genrm {command}` is gone"
        lost = sorted(set(options) - set(now[command]))
        assert not lost, f"`genrm {command}` lost options {lost}"


@pytest.mark.parametrize("module", sorted(BEFORE["module_names"]))
def test_old_module_paths_import(module):
    mod = importlib.import_module(module)
    lost = [n for n in BEFORE["module_names"][module] if n not in NOT_GENRM and not hasattr(mod, n)]
    assert not lost, f"{module} no longer has {lost}"
