"""Problems found in the configuration, each pinned to a file, line and column.

One type serves errors and warnings alike so the CLI, the admin UI and the
audit log can sort, filter and print them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: where it is (1-based line/column), which setting, and what to do.

    ``line``/``column`` are ``None`` only for file-level problems (e.g. a missing
    file). ``message`` never contains a secret's value.
    """

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    severity: Severity = "error"

    @property
    def filename(self) -> str:
        """The bare file name (``queues.yaml``), for grouping issues by file in a UI."""
        return PurePath(self.file).name

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        kind = "warning: " if self.severity == "warning" else ""
        subject = f"{self.path}: " if self.path else ""
        return f"{where}: {kind}{subject}{self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line or 0, self.column or 0, self.message)


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` holds every error found, in every file.

    ``warnings`` holds the warnings of the same run so a caller printing the
    errors can show them too.
    """

    def __init__(self, issues: list[ConfigIssue], warnings: list[ConfigIssue] | None = None):
        self.issues = list(issues)
        self.warnings = list(warnings or [])
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.issues)
        head = f"{n} configuration error{'s' if n != 1 else ''}"
        return "\n".join([head + ":", *(f"  {issue}" for issue in self.issues)])

    def __str__(self) -> str:
        return self._render()
