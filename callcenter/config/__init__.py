"""Configuration of the contact center: four YAML files, validated as one.

``config/callcenter.yaml`` (connections, ports, paths, channels),
``config/queues.yaml``, ``config/agents.yaml`` and ``config/ivr.yaml`` are parsed
with ruamel.yaml, validated by strict pydantic models, cross-checked against
each other, and reported as ``file:line:col: path: message`` issues.

    result = load_config(Path("config"))      # LoadResult(config, warnings) or ConfigError
    store = ConfigStore.open("config")        # reloadable holder; store.config is in force
    code, text = check_config("config")       # for `callcenter check-config`
"""

from .check import check_config, summary
from .diff import Changes, ConfigDiff, diff_configs
from .issues import ConfigError, ConfigIssue, Severity
from .loader import FILES, LoadResult, load_config, validate_text
from .models import (
    Agent,
    AgentsConfig,
    CallcenterConfig,
    Config,
    IvrConfig,
    Queue,
    QueuesConfig,
    Team,
)
from .store import ConfigStore, ReloadResult

__all__ = [
    "FILES",
    "Agent",
    "AgentsConfig",
    "CallcenterConfig",
    "Changes",
    "Config",
    "ConfigDiff",
    "ConfigError",
    "ConfigIssue",
    "ConfigStore",
    "IvrConfig",
    "LoadResult",
    "Queue",
    "QueuesConfig",
    "ReloadResult",
    "Severity",
    "Team",
    "check_config",
    "diff_configs",
    "load_config",
    "summary",
    "validate_text",
]
