"""Turn pydantic validation errors into ``ConfigIssue``s an admin can act on.

A pydantic ``loc`` is walked through the parsed data (for the position) and the
model's type annotations (to know the allowed keys of the model an unknown key
sits in, or the allowed ``type`` tags of an IVR node). Messages say what is
wrong and what is allowed, with a did-you-mean from difflib, and never repeat a
value that may be a secret.
"""

from __future__ import annotations

import difflib
import re
import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .issues import ConfigIssue
from .source import DataPath, Source, format_path


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` or ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def allowed_list(choices: list[str]) -> str:
    return ", ".join(choices) if choices else "(none)"


def translate(exc: ValidationError, src: Source, model: type[BaseModel]) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        issue = _translate_one(err, src, model)
        if issue is not None:
            issues.append(issue)
    return issues


# ---------------------------------------------------------------------------- type walking


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [a for a in get_args(tp) if a is not type(None)]
    return []


def _tag_of(member: Any, discriminator: str = "type") -> str | None:
    if _is_model(member) and discriminator in member.model_fields:
        ann = member.model_fields[discriminator].annotation
        if get_origin(ann) is Literal:
            return str(get_args(ann)[0])
    return None


def _child(tp: Any, el: str | int) -> Any:
    tp = _unwrap(tp)
    if _is_model(tp):
        field = tp.model_fields.get(str(el))
        return field.annotation if field is not None else None
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        args = get_args(tp)
        return args[0] if args else None
    return None


def _walk(loc: tuple[str | int, ...], src: Source, model: type[BaseModel]) -> _Walk:
    """Follow ``loc`` through the data and the types, resolving IVR node unions."""
    w = _Walk()
    node: Any = src.data
    tp: Any = model
    for el in loc:
        if el == "[key]":
            w.key_error = True
            continue
        members = _union_members(tp)
        if members:
            tagged = [m for m in members if _tag_of(m) == el]
            if tagged:  # a discriminated-union tag that pydantic put into loc
                tp = tagged[0]
                continue
            if isinstance(node, dict):
                tagged = [m for m in members if _tag_of(m) == node.get("type")]
                tp = tagged[0] if tagged else tp
        if w.rest:
            w.rest.append(el)
        elif (isinstance(node, dict) and el in node) or (
            isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node)
        ):
            w.containers.append(tp)
            w.path.append(el)
            node = node[el]  # type: ignore[index]
            tp = _child(tp, el)
        else:
            w.containers.append(tp)
            w.rest.append(el)
            tp = _child(tp, el)
    w.type = tp
    return w


@dataclass
class _Walk:
    path: list[str | int] = field(default_factory=list)
    rest: list[str | int] = field(default_factory=list)
    containers: list[Any] = field(default_factory=list)
    type: Any = None
    key_error: bool = False


# ---------------------------------------------------------------------------- messages

_QUOTED_RE = re.compile(r"'((?:[^'\\]|\\.)*)'")

_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "date_type": "a date like 2026-10-01",
    "date_parsing": "a date like 2026-10-01",
    "date_from_datetime_parsing": "a date like 2026-10-01",
    "date_from_datetime_inexact": "a date like 2026-10-01",
    "path_type": "a file path",
}


def _got(value: Any, src: Source, path: DataPath) -> str:
    if src.is_sensitive(path):
        return ""
    if isinstance(value, dict):
        return ", got a mapping"
    if isinstance(value, list):
        return ", got a list"
    if value is None:
        return ", got nothing (null)"
    text = repr(value)
    return f", got {text if len(text) <= 60 else text[:57] + '...'}"


def _subject(w: _Walk, *, key: bool) -> str:
    """How to name what a bad choice was for: "strategy", "value in options", "key in options"."""
    for i in range(len(w.path) - 1, -1, -1):
        if _is_model(_unwrap(w.containers[i])) and isinstance(w.path[i], str):
            if i == len(w.path) - 1 and not key:
                return str(w.path[i])
            return f"{'key' if key else 'value'} in {w.path[i]}"
    return "value"


def _translate_one(err: ErrorDetails, src: Source, model: type[BaseModel]) -> ConfigIssue | None:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    w = _walk(tuple(err["loc"]), src, model)
    path: DataPath = tuple(w.path)
    rest, key_error = w.rest, w.key_error
    if any(path[: len(p)] == p for p in src.env_failed):
        return None  # already reported: the ${NAME} it came from is unset
    shown_path = (*path, *rest)
    sensitive = src.is_sensitive(path)
    at_key = key_error

    if kind == "extra_forbidden":
        allowed = _keys_of(w.containers[-1]) if w.containers else []
        name = str((path + tuple(rest))[-1]) if path or rest else "?"
        msg = f"unknown key {name!r}; allowed: {allowed_list(allowed)}{did_you_mean(name, allowed)}"
        at_key = True
    elif kind == "missing":
        msg = "is required but missing"
    elif kind == "literal_error":
        allowed = _QUOTED_RE.findall(str(ctx.get("expected", "")))
        word = _subject(w, key=key_error)
        if sensitive:
            msg = f"is not a valid {word}; allowed: {allowed_list(allowed)}"
        else:
            msg = (
                f"{value!r} is not a valid {word}; allowed: {allowed_list(allowed)}"
                f"{did_you_mean(str(value), allowed)}"
            )
    elif kind == "union_tag_invalid":
        disc = str(ctx.get("discriminator", "'type'")).strip("'")
        allowed = _QUOTED_RE.findall(str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        shown_path = (*path, disc)
        if (*path, disc) in src.key_pos:
            path = (*path, disc)
        msg = f"{tag!r} is not a valid {disc}; allowed: {allowed_list(allowed)}"
        msg += did_you_mean(tag, allowed)
    elif kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "'type'")).strip("'")
        allowed = [t for t in map(_tag_of, _union_members(w.type)) if t]
        shown_path = (*path, disc)
        msg = f"needs a {disc}: one of {allowed_list(allowed)}"
    elif kind in _TYPE_WORDS:
        msg = f"expected {_TYPE_WORDS[kind]}{_got(value, src, path)}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "?")
        words = {
            "greater_than_equal": "at least",
            "greater_than": "greater than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        shown = "is" if sensitive else f"{value!r} is"
        msg = f"{shown} out of range; must be {words} {bound}"
    elif kind in ("too_short", "string_too_short"):
        n = ctx.get("min_length", 1)
        msg = "must not be empty" if n == 1 else f"needs at least {n} items"
    elif kind in ("too_long", "string_too_long"):
        n = ctx.get("max_length", "?")
        msg = f"is too long; at most {n} {'items' if kind == 'too_long' else 'characters'}"
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        shown = "does not" if sensitive else f"{value!r} does not"
        msg = f"{shown} have the required form (regular expression {pattern})"
    elif kind == "config":
        msg = err["msg"]
        if sensitive and "value" in ctx:
            msg = msg.replace(str(ctx["value"]), "the value")
    elif kind == "value_error":
        msg = err["msg"].removeprefix("Value error, ")
    else:
        msg = err["msg"] + ("" if sensitive else _got(value, src, path))

    line, col = src.position(path, key=at_key)
    return ConfigIssue(src.display, line, col, format_path(shown_path), msg)


def _keys_of(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    return list(tp.model_fields) if _is_model(tp) else []
