"""``callcenter.config.models`` stays the one import path for every config model.

The models live in one module per file; the rest of the engine imports them from
``models``, so a public name defined in a per-file module but not re-exported
there would be out of reach.
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import pytest

from callcenter.config import agents_file, callcenter_file, ivr_file, models, queues_file


def _defined_names(module: ModuleType) -> list[str]:
    """Public top-level classes, functions and assignments (type aliases, constants)."""
    names: list[str] = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


@pytest.mark.parametrize(
    "module", [callcenter_file, queues_file, agents_file, ivr_file], ids=lambda m: m.__name__
)
def test_models_reexports_every_per_file_name(module: ModuleType) -> None:
    names = _defined_names(module)
    assert names
    assert [name for name in names if name not in models.__all__] == []
    assert all(getattr(models, name) is getattr(module, name) for name in names)


def test_models_exports_resolve() -> None:
    assert [name for name in models.__all__ if not hasattr(models, name)] == []
