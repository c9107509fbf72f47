"""Read one YAML file into plain data while remembering where every key and item sits.

ruamel.yaml's round-trip loader records line/column of each mapping key, value
and sequence item; we copy those into a table keyed by the data path so that a
pydantic error ``loc`` (or a cross-file check) can be turned into file:line:col.
Environment references (``${NAME}``, ``${NAME:-default}``) are expanded here, in
secret fields only (``SENSITIVE_KEYS``): anywhere else ``${...}`` is the text the admin
wrote, so a team named ``${CALLCENTER_AMI_SECRET}`` cannot put a secret on a wallboard.
Every path holding an expanded value is marked sensitive so no message ever echoes it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarint import ScalarInt

from .issues import ConfigIssue, Severity

DataPath = tuple[str | int, ...]
Pos = tuple[int, int]

SENSITIVE_KEYS = frozenset(
    {"secret", "agi_secret", "app_secret", "token", "encoding_aes_key", "sip_password",
     "password"}
)
"""Secret fields: values never shown in messages, and the only ones where ``${NAME}``
is read from the environment."""

_ENV_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_LEADING_ZERO_RE = re.compile(r"0[0-9_]+")


def format_path(path: DataPath) -> str:
    """``("queues", "sales", "escalation", 0)`` -> ``queues.sales.escalation[0]``."""
    out = ""
    for el in path:
        if isinstance(el, int):
            out += f"[{el}]"
        else:
            key = el if _SIMPLE_KEY_RE.fullmatch(el) else f'"{el}"'
            out += f".{key}" if out else key
    return out


@dataclass
class Source:
    """One parsed file: plain data plus positions (1-based) of every path in it."""

    filename: str
    display: str
    text: str
    data: Any = None
    parsed: bool = False
    key_pos: dict[DataPath, Pos] = field(default_factory=dict)
    value_pos: dict[DataPath, Pos] = field(default_factory=dict)
    sensitive: set[DataPath] = field(default_factory=set)
    env_failed: set[DataPath] = field(default_factory=set)
    issues: list[ConfigIssue] = field(default_factory=list)

    def is_sensitive(self, path: DataPath) -> bool:
        """Whether the value at ``path`` (or inside it) may be a secret."""
        if any(isinstance(el, str) and el in SENSITIVE_KEYS for el in path):
            return True
        n = len(path)
        return any(p[:n] == path for p in self.sensitive)

    def position(self, path: DataPath, *, key: bool = False) -> Pos:
        """Line/column of ``path`` (or of its nearest existing ancestor).

        ``key`` asks for the key's position rather than the value's; collections
        always report their key, which is the line an admin recognises.
        """
        for n in range(len(path), 0, -1):
            prefix = path[:n]
            if prefix in self.key_pos:
                exact = n == len(path)
                if key or not exact or self._is_collection(prefix):
                    return self.key_pos[prefix]
                return self.value_pos[prefix]
        return (1, 1)

    def _is_collection(self, path: DataPath) -> bool:
        node: Any = self.data
        for el in path:
            try:
                node = node[el]
            except (KeyError, IndexError, TypeError):
                return False
        return isinstance(node, dict | list)

    def issue(
        self, path: DataPath, message: str, severity: Severity = "error", *, key: bool = False
    ) -> ConfigIssue:
        line, col = self.position(path, key=key)
        return ConfigIssue(self.display, line, col, format_path(path), message, severity)

    def show(self, path: DataPath, value: Any) -> str:
        """``repr(value)`` for a message, unless the value may be a secret."""
        return "(a value from the environment)" if self.is_sensitive(path) else repr(value)


def parse(filename: str, display: str, text: str, env: Mapping[str, str]) -> Source:
    """Parse ``text``; syntax and ``${...}`` problems land in ``source.issues``."""
    src = Source(filename=filename, display=display, text=text)
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        if isinstance(exc, DuplicateKeyError):
            # ruamel's text quotes both values, which may be secrets: name the key only.
            m = re.search(r'duplicate key "(.*?)" with value', str(exc.problem))
            key = m.group(1) if m else "?"
            message = f"key {key!r} appears twice in the same mapping"
        else:
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            message = f"YAML syntax error: {what}"
        src.issues.append(ConfigIssue(display, line, col, "", message))
        return src
    except YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        src.issues.append(ConfigIssue(display, None, None, "", f"YAML error: {exc}"))
        return src
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        src.issues.append(
            ConfigIssue(display, 1, 1, "", "the file must be a mapping of settings (key: value)")
        )
        return src
    lines = text.splitlines()
    src.data = _Converter(src, lines, env).convert(doc, ())
    src.parsed = True
    return src


class _Converter:
    def __init__(self, src: Source, lines: list[str], env: Mapping[str, str]):
        self.src = src
        self.lines = lines
        self.env = env

    def convert(self, node: Any, path: DataPath, pos: Pos = (1, 1)) -> Any:
        if isinstance(node, CommentedMap):
            return self._mapping(node, path)
        if isinstance(node, CommentedSeq):
            out = []
            for i, item in enumerate(node):
                try:
                    line, col = node.lc.item(i)
                    item_pos = (line + 1, col + 1)
                except (KeyError, IndexError, TypeError):
                    item_pos = pos
                self.src.key_pos[(*path, i)] = item_pos
                self.src.value_pos[(*path, i)] = item_pos
                out.append(self.convert(item, (*path, i), item_pos))
            return out
        if isinstance(node, str):
            if path and path[-1] in SENSITIVE_KEYS:
                return self._expand(str(node), path)
            return str(node)
        if isinstance(node, bool):
            return bool(node)
        if isinstance(node, ScalarInt):
            # "0211" would silently become 211: keep it as the text the admin wrote.
            token = self._token(pos)
            return token if token and _LEADING_ZERO_RE.fullmatch(token) else int(node)
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, dt.datetime):
            return dt.datetime.fromisoformat(node.isoformat())
        if isinstance(node, dt.date):
            return dt.date(node.year, node.month, node.day)
        return node

    def _mapping(self, node: CommentedMap, path: DataPath) -> dict[str, Any]:
        own = self.src.key_pos.get(path, (1, 1))
        out: dict[str, Any] = {}
        for k, v in node.items():
            key = _key_text(k)
            child = (*path, key)
            try:
                kl, kc, vl, vc = node.lc.data[k]
                kpos, vpos = (kl + 1, kc + 1), (vl + 1, vc + 1)
            except (KeyError, TypeError, ValueError):  # a key merged in via "<<: *anchor"
                kpos = vpos = own
            if key in out:
                self.src.issues.append(
                    ConfigIssue(self.src.display, *kpos, format_path(child),
                                f"key {key!r} appears twice in this mapping")
                )
                continue
            self.src.key_pos[child] = kpos
            self.src.value_pos[child] = vpos
            out[key] = self.convert(v, child, vpos)
        return out

    def _token(self, pos: Pos) -> str | None:
        line, col = pos
        if 1 <= line <= len(self.lines):
            m = re.match(r"[-+]?[0-9A-Za-z_]+", self.lines[line - 1][col - 1 :])
            return m.group(0) if m else None
        return None

    def _expand(self, value: str, path: DataPath) -> str:
        if "${" not in value:
            return value
        self.src.sensitive.add(path)
        problems: list[str] = []

        def repl(m: re.Match[str]) -> str:
            whole = m.group(0)
            if whole == "$${":
                return "${"
            body = m.group(1)
            if body is None:
                problems.append("has '${' without a closing '}'")
                return ""
            name, sep, default = body.partition(":-")
            if not _ENV_NAME_RE.fullmatch(name):
                problems.append(
                    f"${{{name}}} is not a valid reference; write ${{NAME}} or ${{NAME:-default}}"
                )
                return ""
            got = self.env.get(name)
            if got:  # like the shell's ${NAME:-default}: empty counts as unset
                return got
            if sep:
                return default
            problems.append(
                f"environment variable {name} is not set and has no default "
                f"(set it, or write ${{{name}:-default}})"
            )
            return ""

        out = _ENV_RE.sub(repl, value)
        if problems:
            self.src.env_failed.add(path)
            line, col = self.src.value_pos.get(path, (1, 1))
            for problem in problems:
                self.src.issues.append(
                    ConfigIssue(self.src.display, line, col, format_path(path), problem)
                )
        return out


def _key_text(key: Any) -> str:
    """Keys become strings: menu keys may be written ``1:`` as well as ``"1":``."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, dt.date):
        return key.isoformat()
    if key is None:
        return "null"
    return str(key)
