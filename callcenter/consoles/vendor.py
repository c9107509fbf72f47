"""Browser libraries from npm, served by the engine as ES modules (no CDN, no build step).

``make setup`` installs them into ``node_modules`` (never committed). ECharts ships an ES
module; JsSIP (the browser phone's SIP stack) ships CommonJS only, so the engine wraps its
files and its dependencies' (debug, events, sdp-transform, ms) into one ES module the
first time it is asked: each file becomes a function of ``require, module, exports``, as
Node runs it, and ``require`` resolves the names each file uses, as Node would (a
package's ``browser`` entry first). Nothing is rewritten inside a file.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

_REQUIRE = re.compile(r"""\brequire\(\s*['"]([^'"]+)['"]\s*\)""")


class Missing(LookupError):
    """A file is not installed (``make setup`` installs it)."""


def _file(path: Path) -> Path:
    for candidate in (path, path.with_name(path.name + ".js"),
                      path.with_name(path.name + ".json"), path / "index.js"):
        if candidate.is_file():
            return candidate
    raise Missing(str(path))


def _package_entry(name: str, root: Path) -> Path:
    folder = root / name
    meta = json.loads((folder / "package.json").read_text())
    entry = meta.get("browser") if isinstance(meta.get("browser"), str) else None
    return _file(folder / (entry or meta.get("main") or "index.js"))


def _resolve(name: str, importer: Path, root: Path) -> Path:
    if name.startswith("."):
        return _file((importer.parent / name).resolve())
    return _package_entry(name, root)


def commonjs_module(package: str, root: Path = NODE_MODULES) -> str:
    """``package`` (and what it requires) as one ES module whose default export is what
    ``require(package)`` gives in Node."""
    root = root.resolve()  # files are resolved (``require("./x")``): so is the folder
    ids: dict[Path, int] = {}
    order: list[Path] = []

    def visit(path: Path) -> int:
        if path not in ids:
            ids[path] = len(order)
            order.append(path)
        return ids[path]

    entry = visit(_package_entry(package, root))
    parts = [f"// {package} from node_modules, wrapped by callcenter/consoles/vendor.py\n",
             "const defs = [\n"]
    done = 0
    while done < len(order):
        path = order[done]
        done += 1
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".json":
            parts.append(f"[function (require, module) {{ module.exports = {text}; }}, {{}}],"
                         f" // {rel}\n")
            continue
        table = {name: visit(_resolve(name, path, root)) for name in _REQUIRE.findall(text)}
        parts.append(f"[function (require, module, exports) {{ // {rel}\n{text}\n}}, "
                     f"{json.dumps(table)}],\n")
    parts.append(
        "];\nconst made = [];\n"
        "function load(id) {\n"
        "  if (made[id]) return made[id].exports;\n"
        "  const module = made[id] = { exports: {} };\n"
        "  const [run, table] = defs[id];\n"
        "  run.call(module.exports, (name) => load(table[name]), module, module.exports);\n"
        "  return module.exports;\n"
        "}\n"
        f"export default load({entry});\n")
    return "".join(parts)


@cache
def jssip() -> str:
    return commonjs_module("jssip")
