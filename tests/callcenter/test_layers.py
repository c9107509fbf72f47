"""The house's layers: no import from a lower layer to a higher one, no package cycles.

Read from the source (``ast``), so a new import that breaks the shape fails here
with the file and the line, before anyone has to untangle it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Lowest first. A module may import its own layer and the layers below it.
LAYERS: list[set[str]] = [
    {"acd", "asterisk", "callcenter.errors", "callcenter.logs", "callcenter.bus",
     "callcenter.config", "callcenter.storage", "callcenter.ami", "callcenter.webkit",
     "ivr"},
    {"callcenter.routing"},
    {"callcenter.features"},
    {"callcenter.auth", "callcenter.customers", "callcenter.agents", "callcenter.voice",
     "callcenter.wallboard", "callcenter.admin", "callcenter.reports", "chatbridge",
     "recordings"},
    {"callcenter.consoles"},
    {"callcenter.app", "callcenter.runtime", "callcenter.heap", "callcenter.cli",
     "callcenter.simulate"},
]


def package_of(module: str) -> str | None:
    """The unit of ``LAYERS`` a dotted module name belongs to."""
    best = None
    for layer in LAYERS:
        for unit in layer:
            if (module == unit or module.startswith(unit + ".")) and \
                    (best is None or len(unit) > len(best)):
                best = unit
    return best


def layer_of(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def imports() -> list[tuple[str, str, Path, int]]:
    """(importing unit, imported unit, file, line) for every import between units."""
    out = []
    roots = [REPO / name for name in ("acd", "asterisk", "callcenter", "ivr", "chatbridge",
                                      "recordings")]
    for root in roots:
        for path in root.rglob("*.py"):
            dotted = ".".join(path.relative_to(REPO).with_suffix("").parts)
            source = package_of(dotted.removesuffix(".__init__"))
            if source is None:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    target = package_of(name)
                    if target is not None and target != source:
                        out.append((source, target, path, node.lineno))
    return out


def test_every_module_has_a_layer():
    outside = [str(p.relative_to(REPO)) for p in (REPO / "callcenter").rglob("*.py")
               if p != REPO / "callcenter" / "__init__.py"
               and package_of(".".join(p.relative_to(REPO).with_suffix("").parts)) is None]
    assert not outside, f"modules outside every layer (add them to LAYERS): {outside}"


def test_no_import_goes_up_a_layer():
    wrong = [f"{path.relative_to(REPO)}:{line}: {source} imports {target}"
             for source, target, path, line in imports()
             if layer_of(target) > layer_of(source)]
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _path, _line in imports():
        graph[source].add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a in list(graph) for b in graph[a]
                    if reaches(b, a, {b}))
    assert not cycles, "\n".join(cycles)
