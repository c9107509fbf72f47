"""Load the YAML files of a config directory into one validated ``Config``.

Four files are required (``FILES``); ``quality.yaml`` is optional (``OPTIONAL_FILES``:
absent means its defaults, present means validated like the others).

Every file is parsed and validated even when an earlier one fails, and the
cross-file checks run for whichever files validated, so an admin sees all the
errors at once rather than one per attempt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .crosscheck import Checked, cross_check
from .issues import ConfigError, ConfigIssue
from .models import (
    AgentsConfig,
    CallcenterConfig,
    Config,
    IvrConfig,
    QualityConfig,
    QueuesConfig,
)
from .source import parse
from .translate import translate

FILES: tuple[str, ...] = ("callcenter.yaml", "queues.yaml", "agents.yaml", "ivr.yaml")
OPTIONAL_FILES: tuple[str, ...] = ("quality.yaml",)
"""Files that may be absent: then their model's defaults apply."""
MODELS: dict[str, type[BaseModel]] = {
    "callcenter.yaml": CallcenterConfig,
    "queues.yaml": QueuesConfig,
    "agents.yaml": AgentsConfig,
    "ivr.yaml": IvrConfig,
    "quality.yaml": QualityConfig,
}


@dataclass(frozen=True)
class LoadResult:
    """A valid configuration and the warnings found while loading it."""

    config: Config
    warnings: list[ConfigIssue] = field(default_factory=list)


@dataclass
class LoadOutcome:
    """Everything one pass found: the config (``None`` if there are errors) and the issues."""

    config: Config | None
    errors: list[ConfigIssue]
    warnings: list[ConfigIssue]


def load_config(
    directory: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load and check ``directory``; raise ``ConfigError`` with every error found.

    ``env`` replaces ``os.environ`` for ``${NAME}`` expansion (tests); ``texts``
    replaces the on-disk content of some files (see ``validate_text``).
    """
    outcome = load_outcome(Path(directory), env, texts)
    if outcome.config is None:
        raise ConfigError(outcome.errors, outcome.warnings)
    return LoadResult(outcome.config, outcome.warnings)


def validate_text(
    directory: Path | str,
    filename: str,
    new_text: str,
    *,
    env: Mapping[str, str] | None = None,
) -> list[ConfigIssue]:
    """Errors then warnings if ``filename`` had ``new_text``, checked against the others on
    disk. Issues in other files are included (an edit can break a reference there)."""
    filename = check_filename(filename)
    outcome = load_outcome(Path(directory), env, {filename: new_text})
    return outcome.errors + outcome.warnings


def check_filename(filename: str) -> str:
    """``filename`` if it is one of the config files, else ``ValueError``."""
    known = FILES + OPTIONAL_FILES
    if filename not in known:
        raise ValueError(f"{filename!r} is not a config file; expected one of {', '.join(known)}")
    return filename


def load_outcome(
    directory: Path, env: Mapping[str, str] | None = None, texts: Mapping[str, str] | None = None
) -> LoadOutcome:
    """Parse, validate and cross-check every file, collecting every issue."""
    env = os.environ if env is None else env
    texts = texts or {}
    base_dir = directory.absolute().parent
    checked: dict[str, Checked] = {}
    issues: list[ConfigIssue] = []
    for name in FILES + OPTIONAL_FILES:
        display = str(directory / name)
        text = texts.get(name)
        if text is None:
            try:
                text = (directory / name).read_text(encoding="utf-8")
            except FileNotFoundError:
                if name not in OPTIONAL_FILES:
                    issues.append(ConfigIssue(display, None, None, "", "file not found"))
                continue
            except UnicodeDecodeError as exc:
                issues.append(ConfigIssue(display, None, None, "",
                                          f"is not UTF-8 text (byte {exc.start})"))
                continue
            except OSError as exc:
                issues.append(ConfigIssue(display, None, None, "",
                                          f"cannot be read: {exc.strerror}"))
                continue
        src = parse(name, display, text, env)
        model = None
        if src.parsed:
            try:
                model = MODELS[name].model_validate(src.data, context={"base_dir": base_dir})
            except ValidationError as exc:
                src.issues.extend(translate(exc, src, MODELS[name]))
        issues.extend(src.issues)
        checked[name] = Checked(src, model)
    issues.extend(cross_check(checked))

    order = {str(directory / name): i for i, name in enumerate(FILES + OPTIONAL_FILES)}

    def key(issue: ConfigIssue) -> tuple[int, int, int]:
        return (order.get(issue.file, 99), issue.line or 0, issue.column or 0)

    errors = sorted((i for i in issues if i.severity == "error"), key=key)
    warnings = sorted((i for i in issues if i.severity == "warning"), key=key)
    config = None
    if not errors:
        cc, qc, ac, ivr = (checked[n].model for n in FILES)
        assert isinstance(cc, CallcenterConfig) and isinstance(qc, QueuesConfig)
        assert isinstance(ac, AgentsConfig) and isinstance(ivr, IvrConfig)
        quality = checked.get("quality.yaml")
        config = Config(
            directory=directory.absolute(),
            callcenter=cc,
            queues=qc.queues,
            teams=ac.teams,
            agents=ac.agents,
            ivr=ivr,
            quality=quality.model if quality is not None else QualityConfig(),
        )
    return LoadOutcome(config, errors, warnings)
