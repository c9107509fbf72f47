"""``callcenter check-config [DIR]``: report errors and warnings, or a short summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from .loader import load_outcome
from .models import Config

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_NO_DIRECTORY = 2


def check_config(
    directory: Path | str = "config", *, env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """(exit code, text to print): 0 and a summary plus warnings when the config is valid,
    1 and every error and warning when it is not, 2 when ``directory`` is not a folder."""
    directory = Path(directory)
    if not directory.is_dir():
        return EXIT_NO_DIRECTORY, f"{directory}: no such config directory"
    outcome = load_outcome(directory, env)
    lines = [str(issue) for issue in outcome.errors + outcome.warnings]
    if outcome.config is None:
        n, w = len(outcome.errors), len(outcome.warnings)
        tail = f", {w} warning{'s' if w != 1 else ''}" if w else ""
        lines.append(f"config INVALID: {n} error{'s' if n != 1 else ''}{tail}")
        return EXIT_INVALID, "\n".join(lines)
    return EXIT_OK, "\n".join([summary(outcome.config), *lines])


def summary(config: Config) -> str:
    """e.g. ``config OK: 3 queues (sales, support, vip), 6 agents, 1 supervisor, 1 admin,
    2 teams, IVR with 12 nodes (2 menus), 400 number 4008001234``."""
    roles = Counter(a.role for a in config.agents)
    kinds = Counter(node.type for node in config.ivr.nodes.values())
    numbers = config.callcenter.asterisk.inbound_numbers
    parts = [
        _count(len(config.queues), "queue") + f" ({', '.join(config.queues)})",
        _count(roles["agent"], "agent"),
        _count(roles["supervisor"], "supervisor"),
        _count(roles["admin"], "admin"),
        _count(len(config.teams), "team"),
        f"IVR with {_count(len(config.ivr.nodes), 'node')} ({_count(kinds['menu'], 'menu')}, "
        f"entry {config.ivr.entry}, languages {'/'.join(config.ivr.languages)})",
        (f"400 number{'s' if len(numbers) != 1 else ''} {', '.join(numbers)}"
         if numbers else "no inbound number"),
    ]
    return "config OK: " + ", ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
