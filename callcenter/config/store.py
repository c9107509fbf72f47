"""The configuration in force, reloadable without a restart.

``reload`` never replaces a working configuration with a broken one: if the
files on disk have errors, the old config stays in force and the errors are
returned. ``apply_text`` is the admin UI's path: validate an edited file
against the others, write it atomically (keeping a ``.bak``), then reload.

Each comes in two halves so an event loop is never stalled by a change: ``load`` /
``prepare_text`` parse, validate, fsync and load (slow; run them in a worker thread)
and give a ``Loaded``; ``commit`` puts it in force and calls the subscribers (fast; on
the thread the subscribers expect, the event loop's). A ``Loaded`` older than one
already committed is dropped, so overlapping changes never go back in time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .diff import ConfigDiff, diff_configs
from .issues import ConfigError, ConfigIssue
from .loader import LoadOutcome, check_filename, load_outcome, validate_text
from .models import Config

log = logging.getLogger("callcenter.config")

Subscriber = Callable[[Config | None, Config], None]
"""Called as ``on_change(old, new)`` after a new config is in force (``old`` is None
on the first load)."""
AuditHook = Callable[[str, str | None, ConfigDiff], None]
"""Called as ``audit(actor, filename or None, diff)`` after a change is in force."""


@dataclass(frozen=True)
class Loaded:
    """The directory as read by ``load``: put in force by ``commit`` if it is valid."""

    outcome: LoadOutcome
    actor: str
    filename: str | None
    generation: int


@dataclass(frozen=True)
class Prepared:
    """``prepare_text``'s result: the issues, and the load to commit if there were none."""

    issues: list[ConfigIssue]
    loaded: Loaded | None


@dataclass(frozen=True)
class ReloadResult:
    """Outcome of ``reload``: whether the new files are in force, and what was found."""

    applied: bool
    issues: list[ConfigIssue] = field(default_factory=list)
    diff: ConfigDiff | None = None

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "warning"]


class ConfigStore:
    """Holds the current ``Config``; thread-safe, no event loop needed."""

    def __init__(
        self,
        directory: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        audit: AuditHook | None = None,
        adjust: Callable[[Config], Config] | None = None,
    ):
        """``adjust``: applied to every configuration put in force (``always_open``)."""
        self.directory = Path(directory)
        self._env = env
        self._audit = audit
        self._adjust = adjust
        self._config: Config | None = None
        self._warnings: list[ConfigIssue] = []
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()  # one load or write at a time
        self._commit_lock = threading.Lock()
        self._generation = 0  # of the last load
        self._committed = 0  # generation of the config in force

    @classmethod
    def open(
        cls,
        directory: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        audit: AuditHook | None = None,
        adjust: Callable[[Config], Config] | None = None,
    ) -> ConfigStore:
        """A store with the directory loaded; ``ConfigError`` if it has errors."""
        store = cls(directory, env=env, audit=audit, adjust=adjust)
        result = store.reload(actor="startup")
        if not result.applied:
            raise ConfigError(result.errors, result.warnings)
        return store

    @property
    def config(self) -> Config:
        """The configuration in force (``LookupError`` before the first good load)."""
        config = self._config
        if config is None:
            raise LookupError(f"no valid configuration loaded from {self.directory}")
        return config

    @property
    def loaded(self) -> bool:
        return self._config is not None

    @property
    def warnings(self) -> list[ConfigIssue]:
        """Warnings of the configuration in force."""
        return list(self._warnings)

    def subscribe(self, on_change: Subscriber) -> Callable[[], None]:
        """Call ``on_change(old, new)`` after each change; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(on_change)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(on_change)

        return unsubscribe

    def read_text(self, filename: str) -> str:
        """The current text of one config file (for an editor)."""
        return (self.directory / check_filename(filename)).read_text(encoding="utf-8")

    def reload(self, *, actor: str = "reload", filename: str | None = None) -> ReloadResult:
        """Load the directory; swap it in if valid, else keep the old config in force."""
        return self.commit(self.load(actor=actor, filename=filename))

    def load(self, *, actor: str = "reload", filename: str | None = None) -> Loaded:
        """The slow half of ``reload``: read and validate the directory (any thread)."""
        with self._lock:
            self._generation += 1
            return Loaded(load_outcome(self.directory, self._env), actor, filename,
                          self._generation)

    def commit(self, loaded: Loaded) -> ReloadResult:
        """Put a load in force if it is valid and not older than the config in force;
        then tell the subscribers (in the calling thread)."""
        outcome, actor, filename = loaded.outcome, loaded.actor, loaded.filename
        if outcome.config is None:
            log.warning(
                "configuration in %s has %d error(s); %s", self.directory,
                len(outcome.errors),
                "keeping the configuration in force" if self._config else "nothing loaded",
            )
            for issue in outcome.errors:
                log.warning("%s", issue)
            return ReloadResult(False, outcome.errors + outcome.warnings)
        with self._commit_lock:
            if loaded.generation < self._committed:  # a newer load is in force already
                return ReloadResult(True, outcome.warnings, diff_configs(self._config,
                                                                         self._config))
            old, new = self._config, outcome.config
            if self._adjust is not None:
                new = self._adjust(new)
            diff = diff_configs(old, new)
            self._config = new
            self._committed = loaded.generation
            self._warnings = outcome.warnings
        for issue in outcome.warnings:
            log.info("%s", issue)
        if old is not None and diff.empty:
            return ReloadResult(True, outcome.warnings, diff)
        log.info("configuration loaded by %s%s: %s", actor,
                 f" ({filename})" if filename else "", diff.summary())
        if diff.needs_restart and old is not None:
            log.warning("these settings take effect after a restart: %s",
                        ", ".join(diff.needs_restart))
        if self._audit is not None:
            self._audit(actor, filename, diff)
        for subscriber in list(self._subscribers):
            try:
                subscriber(old, new)
            except Exception:
                log.exception("configuration subscriber %r failed", subscriber)
        return ReloadResult(True, outcome.warnings, diff)

    def validate_text(self, filename: str, text: str) -> list[ConfigIssue]:
        """Issues ``text`` would cause as ``filename``; nothing is written."""
        return validate_text(self.directory, filename, text, env=self._env)

    def apply_text(self, filename: str, text: str, actor: str) -> list[ConfigIssue]:
        """Validate, write atomically (old file kept as ``<name>.bak``) and reload.

        Returns the issues: errors mean nothing was written and the config in force
        is unchanged; otherwise the new file is in force and these are its warnings.
        """
        prepared = self.prepare_text(filename, text, actor)
        if prepared.loaded is not None:
            self.commit(prepared.loaded)
        return prepared.issues

    def prepare_text(self, filename: str, text: str, actor: str) -> Prepared:
        """The slow half of ``apply_text`` (any thread): validate, write, load; nothing
        is in force until ``commit(prepared.loaded)``."""
        filename = check_filename(filename)
        with self._lock:
            issues = self.validate_text(filename, text)
            if any(i.severity == "error" for i in issues):
                log.info("edit of %s by %s refused: %d error(s)", filename, actor,
                         sum(i.severity == "error" for i in issues))
                return Prepared(issues, None)
            target = self.directory / filename
            try:
                previous: bytes | None = target.read_bytes()
                mode: int | None = stat.S_IMODE(target.stat().st_mode)
            except FileNotFoundError:
                previous, mode = None, None
            if previous is not None:
                _atomic_write(self.directory / f"{filename}.bak", previous, mode)
            _atomic_write(target, text.encode("utf-8"), mode)
            loaded = self.load(actor=actor, filename=filename)
            if loaded.outcome.config is None:
                # Another file changed between the check and the load: undo ours.
                if previous is not None:
                    _atomic_write(target, previous, mode)
                else:
                    target.unlink(missing_ok=True)
                return Prepared(loaded.outcome.errors + loaded.outcome.warnings, None)
            return Prepared(loaded.outcome.warnings, loaded)


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    """Write via a temp file in the same folder and ``os.replace``: readers never see
    half a file, and a crash leaves either the old or the new content."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
