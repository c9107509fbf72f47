"""What changed between two configurations, for the audit log and the reload notice.

Only names of settings are reported, never values, so secrets stay out of logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .models import Config

LIVE_SETTINGS = frozenset({
    "logging.level",
    "web.login_failures_allowed",
    "web.session_idle_minutes",
    "web.session_max_hours",
    "stt.enabled",
    "stt.models",
    "ami.action_timeout_seconds",
    "ami.ping_interval_seconds",
    "ami.reconnect_max_delay_seconds",
})
"""callcenter.yaml settings the engine can apply without a restart (advisory)."""


@dataclass(frozen=True)
class Changes:
    """Ids added, removed, and changed (with the names of their changed fields)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        parts = [f"+{x}" for x in self.added] + [f"-{x}" for x in self.removed]
        parts += [f"~{k}({', '.join(v)})" for k, v in self.changed.items()]
        return " ".join(parts)


@dataclass(frozen=True)
class ConfigDiff:
    settings: tuple[str, ...] = ()
    """Dotted paths of changed callcenter.yaml settings."""
    queues: Changes = field(default_factory=Changes)
    teams: Changes = field(default_factory=Changes)
    agents: Changes = field(default_factory=Changes)
    ivr_nodes: Changes = field(default_factory=Changes)
    ivr_settings: tuple[str, ...] = ()
    quality: Changes = field(default_factory=Changes)
    """quality.yaml rule sets (``default`` and queues) added, removed or changed."""

    @property
    def empty(self) -> bool:
        return not (self.settings or self.queues or self.teams or self.agents or self.ivr_nodes
                    or self.ivr_settings or self.quality)

    @property
    def needs_restart(self) -> tuple[str, ...]:
        """Changed settings that take effect only after a restart."""
        return tuple(s for s in self.settings if s not in LIVE_SETTINGS)

    def summary(self) -> str:
        """One line, e.g. ``queues: +vip ~sales(strategy); agents: -bob; settings: web.port``."""
        parts = []
        for name, changes in (("queues", self.queues), ("teams", self.teams),
                              ("agents", self.agents), ("ivr nodes", self.ivr_nodes),
                              ("quality", self.quality)):
            if changes:
                parts.append(f"{name}: {changes.summary()}")
        if self.ivr_settings:
            parts.append("ivr: " + ", ".join(self.ivr_settings))
        if self.settings:
            parts.append("settings: " + ", ".join(self.settings))
        return "; ".join(parts) if parts else "no changes"

    def __str__(self) -> str:
        return self.summary()


def diff_configs(old: Config | None, new: Config) -> ConfigDiff:
    """Differences from ``old`` (``None``: everything is new) to ``new``."""
    if old is None:
        return ConfigDiff(
            queues=Changes(added=tuple(new.queues)),
            teams=Changes(added=tuple(new.teams)),
            agents=Changes(added=tuple(a.id for a in new.agents)),
            ivr_nodes=Changes(added=tuple(new.ivr.nodes)),
        )
    ivr_old = {k: v for k, v in old.ivr if k != "nodes"}
    ivr_new = {k: v for k, v in new.ivr if k != "nodes"}
    return ConfigDiff(
        settings=tuple(_leaf_changes(old.callcenter, new.callcenter)),
        queues=_changes(old.queues, new.queues),
        teams=_changes(old.teams, new.teams),
        agents=_changes({a.id: a for a in old.agents}, {a.id: a for a in new.agents}),
        ivr_nodes=_changes(old.ivr.nodes, new.ivr.nodes),
        ivr_settings=tuple(k for k in ivr_new if ivr_old.get(k) != ivr_new[k]),
        quality=_changes(_rule_sets(old), _rule_sets(new)),
    )


def _rule_sets(config: Config) -> dict[str, BaseModel]:
    return {"default": config.quality.default, **config.quality.queues}


def _changes(old: Mapping[str, BaseModel], new: Mapping[str, BaseModel]) -> Changes:
    changed = {}
    for key in new.keys() & old.keys():
        a, b = old[key], new[key]
        if a != b:
            if type(a) is not type(b):
                changed[key] = ("type",)
            else:
                changed[key] = tuple(f for f in type(b).model_fields
                                     if getattr(a, f) != getattr(b, f))
    return Changes(
        added=tuple(k for k in new if k not in old),
        removed=tuple(k for k in old if k not in new),
        changed={k: changed[k] for k in new if k in changed},
    )


def _leaf_changes(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, BaseModel) and type(old) is type(new):
        out = []
        for name in type(new).model_fields:
            out += _leaf_changes(getattr(old, name), getattr(new, name), f"{prefix}{name}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]
