"""Configuration editing for admins: nothing is applied before it validates.

``apply`` goes through ``ConfigStore.apply_text``: the text is validated against the
other three files, written atomically (the old file kept as ``.bak``) and reloaded;
on any error nothing is written and the configuration in force stays. Calls in
progress are not touched: the composition root's reload subscribers update the
engine's queues and agents in place. Every applied edit is recorded in the store's
audit trail with who, when, which file, a one-line summary of what changed and both
texts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callcenter.config import FILES, ConfigIssue, ConfigStore, diff_configs
from callcenter.storage import ConfigChange, Store

from .notifier import AdminNotifier

log = logging.getLogger(__name__)


def issue_dict(issue: ConfigIssue) -> dict[str, Any]:
    return {"file": issue.filename, "line": issue.line, "column": issue.column,
            "path": issue.path, "message": issue.message, "severity": issue.severity,
            "text": str(issue).replace(issue.file, issue.filename, 1)}


@dataclass(frozen=True)
class ApplyResult:
    applied: bool
    issues: list[ConfigIssue]
    summary: str | None
    change: ConfigChange | None


class AdminService:
    def __init__(self, *, config_store: ConfigStore, store: Store, notifier: AdminNotifier,
                 clock: Callable[[], float]) -> None:
        self.config_store = config_store
        self.store = store
        self.notifier = notifier
        self.clock = clock

    @staticmethod
    def files() -> tuple[str, ...]:
        return FILES

    def read(self, filename: str) -> str:
        """``ValueError`` for a name that is not one of the four files."""
        return self.config_store.read_text(filename)

    async def validate(self, filename: str, text: str) -> list[ConfigIssue]:
        if filename not in FILES:
            raise ValueError(f"{filename!r} is not a config file")
        return await asyncio.to_thread(self.config_store.validate_text, filename, text)

    async def apply(self, filename: str, text: str, actor: str) -> ApplyResult:
        """Validate and apply; on errors nothing changes (``applied`` False)."""
        if filename not in FILES:
            raise ValueError(f"{filename!r} is not a config file")
        old_text = self.read(filename)
        if old_text == text:  # nothing to apply: no write, no backup, no change record
            return ApplyResult(True, [], "no changes", None)
        old = self.config_store.config
        # Parsing, validating and fsyncing take a while: not on the event loop, which
        # carries every call. Committing (and the subscribers, who touch the engine) is
        # quick and belongs on the loop.
        prepared = await asyncio.to_thread(self.config_store.prepare_text, filename, text,
                                           actor)
        issues = prepared.issues
        if prepared.loaded is not None:
            self.config_store.commit(prepared.loaded)
        if any(i.is_error for i in issues):
            log.info("admin.apply_refused", extra={"user": actor, "file": filename,
                                                   "errors": sum(i.is_error for i in issues)})
            return ApplyResult(False, issues, None, None)
        new = self.config_store.config
        summary = diff_configs(old, new).summary() if new is not old else "no changes"
        change = await self.store.record_config_change(actor, filename, summary, old_text,
                                                       text, at=self.clock())
        log.info("admin.applied", extra={"user": actor, "file": filename, "summary": summary})
        self.notifier.config_changed(change)
        return ApplyResult(True, issues, summary, change)

    async def changes(self, limit: int = 50, filename: str | None = None) -> list[ConfigChange]:
        return await self.store.config_changes(limit, filename=filename)
