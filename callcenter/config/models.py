"""Typed models of the four configuration files and of the combined ``Config``.

Names here are a contract with the rest of the engine (ACD, IVR, web, chat):
fields may be added, not renamed. Every model is frozen and rejects unknown keys;
checks that need another file (does that queue exist?) live in ``crosscheck``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from .fields import (
    BusinessHours,
    Extension,
    Ident,
    Lang,
    Level,
    LocalizedText,
    NonEmptyStr,
    PhoneNumber,
    Port,
    PositiveSeconds,
    Prompt,
    ResolvedPath,
    Seconds,
    Strict,
    config_error,
)

# --------------------------------------------------------------------------- callcenter.yaml


class AmiConfig(Strict):
    """How the engine reaches Asterisk's manager interface."""

    host: NonEmptyStr = "127.0.0.1"
    port: Port = 5038
    username: NonEmptyStr = "callcenter"
    secret: SecretStr = SecretStr("callcenter")
    action_timeout_seconds: float = Field(10, gt=0, le=300)
    ping_interval_seconds: float = Field(5, gt=0, le=300)
    reconnect_max_delay_seconds: float = Field(5, gt=0, le=600)


class AsteriskConfig(Strict):
    """The Asterisk the engine drives (a private local one when ``managed``)."""

    managed: bool = True
    sip_port: Port = 5060
    rtp_start: Port = 10000
    rtp_end: Port = 10999
    agi_host: NonEmptyStr = "127.0.0.1"
    agi_port: Port = 4573
    host_root: str = ""
    """Prefix under which Asterisk's files appear on this host ("" = same host)."""
    inbound_numbers: tuple[PhoneNumber, ...] = ()
    """The 400 numbers callers dial, digits only."""
    agent_endpoint_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$")] = ""
    callback_dial: Annotated[str, Field(pattern=r"\{number\}")] = "PJSIP/{number}@carrier"
    """Dial string for calling a customer back; ``{number}`` is their number."""
    files_dir: str = "/var/lib/asterisk/callcenter"
    """A folder Asterisk and the engine share (Asterisk's view; on this host it is
    ``host_root`` + this): generated endpoints in ``include/``, the recordings
    spool in ``recordings/`` and rendered prompts in ``sounds/``. A managed
    Asterisk uses its own instance folder instead."""

    @field_validator("rtp_end")
    @classmethod
    def _rtp_range(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("rtp_start")
        if start is not None and value <= start:
            raise config_error(f"must be greater than rtp_start ({start})")
        return value

    @field_validator("inbound_numbers")
    @classmethod
    def _unique_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        dup = sorted({n for n in value if value.count(n) > 1})
        if dup:
            raise config_error("listed twice: " + ", ".join(dup))
        return value


class WebConfig(Strict):
    """The agent/supervisor/admin web console."""

    bind: NonEmptyStr = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    """0 picks any free port (tests); the running engine prints the one it got."""
    public_origin: str = "http://127.0.0.1:8080"
    """Scheme://host[:port] browsers use; checked against Origin headers."""
    session_secret: SecretStr = SecretStr("change-me-dev-only")
    login_attempts_per_minute: int = Field(10, ge=1, le=1000)

    @field_validator("public_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise config_error(
                "{value} is not an origin; write scheme://host[:port], "
                "e.g. https://cc.example.com",
                value,
            )
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise config_error("is too short; use at least 8 characters (32 random ones is best)")
        return value


class StorageConfig(Strict):
    """Where the engine keeps its SQLite database."""

    path: ResolvedPath = Path("var/callcenter.sqlite3")


class RecordingsConfig(Strict):
    """Call recordings and their transcription."""

    directory: ResolvedPath = Path("var/recordings")
    vosk_model: ResolvedPath | None = None
    """A Vosk model directory; null = use the packaged model if one is installed."""
    transcribe: bool = True


class WeChatConfig(Strict):
    """A WeChat official account feeding chats into the queues."""

    enabled: bool = False
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    api_base: str = "https://api.weixin.qq.com"

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr) -> SecretStr:
        n = len(value.get_secret_value())
        if n not in (0, 43):
            raise config_error(f"must be exactly 43 characters (it has {n})")
        return value

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> WeChatConfig:
        if self.enabled:
            missing = [
                name
                for name, val in (
                    ("app_id", self.app_id),
                    ("app_secret", self.app_secret.get_secret_value()),
                    ("token", self.token.get_secret_value()),
                )
                if not val
            ]
            if missing:
                raise config_error("enabled but empty: " + ", ".join(missing))
        return self


class WebChatConfig(Strict):
    """The chat widget served by the web console."""

    enabled: bool = True


class ChatConfig(Strict):
    wechat: WeChatConfig = Field(default_factory=WeChatConfig)
    web: WebChatConfig = Field(default_factory=WebChatConfig)


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"


class CallcenterConfig(Strict):
    """``callcenter.yaml``: connections, ports, paths and channels."""

    ami: AmiConfig = Field(default_factory=AmiConfig)
    asterisk: AsteriskConfig = Field(default_factory=AsteriskConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    recordings: RecordingsConfig = Field(default_factory=RecordingsConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)


# --------------------------------------------------------------------------- queues.yaml

Channel = Literal["voice", "chat"]
Strategy = Literal[
    "longest_idle",
    "round_robin",
    "fewest_tasks",
    "best_skill",
    "random",
    "weighted_random",
    "linear",
    "ring_all",
]
WhenEmpty = Literal["always", "no_agents_logged_in", "no_agents_available"]
LeaveWhenEmpty = Literal["never", "no_agents_logged_in", "no_agents_available"]
DtmfKey = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]


class Announce(Strict):
    """Periodic announcements to a waiting caller."""

    position: bool = True
    expected_wait: bool = True
    interval_seconds: PositiveSeconds = 30


class RecordingPolicy(Strict):
    enabled: bool = True
    split_legs: bool = True
    """Record caller and agent on separate channels (better transcription)."""


class Disposition(Strict):
    """A wrap-up code an agent picks when finishing a contact."""

    code: Ident
    label: LocalizedText


class EscalationStep(Strict):
    """What happens when a contact has waited ``after_seconds`` (steps apply in order).

    ``min_level`` lowers the skill level required; ``add_skills`` also offers the
    contact to agents holding any of these skills; ``overflow_queue`` (with action
    ``overflow``, implied) moves it to another queue.
    """

    after_seconds: PositiveSeconds
    min_level: Level | None = None
    add_skills: tuple[Ident, ...] = ()
    priority_boost: int | None = Field(None, ge=-1000, le=1000)
    overflow_queue: Ident | None = None
    action: Literal["offer_callback", "voicemail", "overflow"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EscalationStep:
        if self.action == "overflow" and self.overflow_queue is None:
            raise config_error("action overflow needs overflow_queue: <queue id>")
        if self.overflow_queue is not None and self.action not in (None, "overflow"):
            raise config_error(
                f"overflow_queue goes with action: overflow, not action: {self.action}"
            )
        if (
            self.min_level is None
            and not self.add_skills
            and self.priority_boost is None
            and self.overflow_queue is None
            and self.action is None
        ):
            raise config_error(
                "this step does nothing; set min_level, add_skills, priority_boost, "
                "overflow_queue or action"
            )
        return self

    @property
    def effective_action(self) -> str | None:
        return "overflow" if self.overflow_queue is not None else self.action


class Callback(Strict):
    """Let a waiting caller press ``key`` to be called back instead of holding."""

    enabled: bool = False
    key: DtmfKey = "*"


class Blend(Strict):
    """Voice/chat blending."""

    protect_voice_after_seconds: Seconds = 30
    """Once a call has waited this long, ready agents stop getting new chats."""


class Queue(Strict):
    """One queue: who may serve it, in which order, and how long callers wait.

    Field order matters to the validators (``channels`` before ``strategy``,
    ``dispositions`` before ``require_disposition``).
    """

    name: LocalizedText
    channels: tuple[Channel, ...] = Field(("voice",), min_length=1)
    strategy: Strategy = "longest_idle"
    skills: dict[Ident, Level] = Field(default_factory=dict)
    """Required skills and the minimum level of each."""
    priority: int = Field(0, ge=0, le=1000)
    """Higher is served first when an agent can take several queues."""
    service_level_seconds: PositiveSeconds = 20
    short_abandon_seconds: Seconds = 5
    max_wait_seconds: Seconds = 600
    """0 = no limit."""
    max_length: Seconds = 0
    """Most contacts waiting at once; 0 = unlimited."""
    join_empty: WhenEmpty = "always"
    """Whether a contact may join when nobody can serve it: always, or refuse it when
    no agent is logged in / no agent is available."""
    leave_when_empty: LeaveWhenEmpty = "never"
    """Whether waiting contacts are pushed out when agents leave."""
    wrapup_seconds: Seconds = 10
    offer_timeout_seconds: PositiveSeconds = 15
    missed_offers_before_not_ready: Seconds = 2
    """0 = never put an agent to not-ready for missed offers."""
    delay_seconds: Seconds = 0
    preferred_agent_seconds: Seconds = 0
    """A returning customer waits this long for the agent who served them last (0: off)."""
    announce: Announce = Field(default_factory=Announce)
    recording: RecordingPolicy = Field(default_factory=RecordingPolicy)
    dispositions: tuple[Disposition, ...] = ()
    require_disposition: bool = False
    escalation: tuple[EscalationStep, ...] = ()
    callback: Callback = Field(default_factory=Callback)
    business_hours: BusinessHours | None = None
    """null = always open."""
    blend: Blend = Field(default_factory=Blend)
    teams: tuple[Ident, ...] = ()
    """Teams whose supervisors watch this queue."""

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise config_error("lists a channel twice")
        return value

    @field_validator("strategy")
    @classmethod
    def _ring_all_voice_only(cls, value: str, info: ValidationInfo) -> str:
        channels = info.data.get("channels")
        if value == "ring_all" and channels is not None and tuple(channels) != ("voice",):
            raise config_error(
                "ring_all rings every free agent at once, which only works for voice-only "
                f"queues; this queue has channels {', '.join(channels)} (use longest_idle, "
                "or make the queue voice-only)"
            )
        return value

    @field_validator("require_disposition")
    @classmethod
    def _codes_to_pick(cls, value: bool, info: ValidationInfo) -> bool:
        # An error, not a warning: agents could never finish wrap-up.
        if value and not info.data.get("dispositions", ()) and "dispositions" in info.data:
            raise config_error(
                "is true but the queue has no dispositions, so agents could never finish "
                "wrap-up; add dispositions or set require_disposition: false"
            )
        return value

    @property
    def voice(self) -> bool:
        return "voice" in self.channels

    @property
    def chat(self) -> bool:
        return "chat" in self.channels


class QueuesConfig(Strict):
    """``queues.yaml``."""

    queues: dict[Ident, Queue] = Field(min_length=1)


# --------------------------------------------------------------------------- agents.yaml

Role = Literal["agent", "supervisor", "admin"]


class Team(Strict):
    name: NonEmptyStr


class Capacity(Strict):
    """How many contacts of each channel an agent handles at once."""

    voice: int = Field(1, ge=0, le=1)
    chat: int = Field(3, ge=0, le=20)


class Agent(Strict):
    """A person who logs in: agent, supervisor or admin.

    Without an extension a person takes no calls, whatever ``capacity.voice`` says.
    """

    id: Ident
    """Login name."""
    name: NonEmptyStr
    extension: Extension | None = None
    """The PJSIP endpoint name of their phone, digits (e.g. "1001")."""
    sip_password: SecretStr | None = None
    skills: dict[Ident, Level] = Field(default_factory=dict)
    queues: tuple[Ident, ...] | None = None
    """Explicit queue membership; null = every queue whose skills they meet."""
    capacity: Capacity = Field(default_factory=Capacity)
    chat_while_voice: bool = False
    voice_while_chat: bool = True
    team: Ident | None = None
    languages: tuple[Lang, ...] = Field(("zh",), min_length=1)
    role: Role = "agent"
    teams_supervised: tuple[Ident, ...] = ()
    password: SecretStr | None = None
    """Initial console password (the agent changes it on first login)."""

    @field_validator("teams_supervised")
    @classmethod
    def _only_supervisors(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if value and info.data.get("role") == "agent":
            raise config_error("only a supervisor or admin supervises teams; set role: supervisor")
        return value

    @model_validator(mode="after")
    def _sip_password(self) -> Agent:
        if self.extension is not None and self.sip_password is None:
            raise config_error(
                f"has extension {self.extension} but no sip_password; set sip_password "
                '(e.g. "${CALLCENTER_SIP_PASSWORD_' + self.extension + '}")'
            )
        return self

    @property
    def takes_voice(self) -> bool:
        return self.extension is not None and self.capacity.voice > 0

    @property
    def takes_chat(self) -> bool:
        return self.capacity.chat > 0

    def meets(self, skills: dict[str, int]) -> bool:
        """Whether this agent has every skill at (at least) the required level."""
        return all(self.skills.get(s, 0) >= lvl for s, lvl in skills.items())


class AgentsConfig(Strict):
    """``agents.yaml``."""

    teams: dict[Ident, Team] = Field(default_factory=dict)
    agents: tuple[Agent, ...] = ()


# --------------------------------------------------------------------------- ivr.yaml

HANGUP = "hangup"
"""A node target that hangs up, unless a node of that name exists."""


class MenuNode(Strict):
    """Press a key to go to a node."""

    type: Literal["menu"]
    prompt: Prompt
    options: dict[DtmfKey, Ident] = Field(min_length=1)
    timeout_seconds: int = Field(5, ge=1, le=60)
    retries: int = Field(2, ge=0, le=10)
    invalid: Ident | None = None
    """Where to go after the retries are used up by wrong keys (default: hang up)."""
    timeout_action: Ident | None = None
    """Where to go after the retries are used up by silence (default: hang up)."""


class LanguageNode(Strict):
    """Press a key to choose the language of the rest of the call."""

    type: Literal["language"]
    prompt: Prompt
    options: dict[DtmfKey, Lang] = Field(min_length=1)
    next: Ident
    timeout_seconds: int = Field(5, ge=1, le=60)
    retries: int = Field(1, ge=0, le=10)


class CollectNode(Strict):
    """Collect digits (an order or account number) into a call variable."""

    type: Literal["collect"]
    prompt: Prompt
    variable: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]
    min_digits: int = Field(1, ge=1, le=64)
    max_digits: int = Field(20, ge=1, le=64)
    timeout_seconds: int = Field(10, ge=1, le=120)
    retries: int = Field(2, ge=0, le=10)
    next: Ident
    invalid: Ident | None = None
    """Where to go when the retries run out (default: ``next`` without the value)."""

    @field_validator("max_digits")
    @classmethod
    def _min_le_max(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_digits")
        if low is not None and value < low:
            raise config_error(f"must be at least min_digits ({low})")
        return value


class QueueNode(Strict):
    """Put the call into a queue (the end of the IVR)."""

    type: Literal["queue"]
    queue: Ident
    priority: int | None = Field(None, ge=0, le=1000)
    """Overrides the queue's priority for calls from this node."""
    skills: dict[Ident, Level] | None = None
    """Skills required on top of the queue's own."""
    label: LocalizedText | None = None
    """What the agent's screen-pop shows as the caller's choice."""
    prompt: Prompt | None = None


class HoursNode(Strict):
    """Branch on business hours: a queue's, or a named schedule's."""

    type: Literal["hours"]
    queue: Ident | None = None
    schedule: Ident | None = None
    open: Ident
    closed: Ident

    @model_validator(mode="after")
    def _one_source(self) -> HoursNode:
        if (self.queue is None) == (self.schedule is None):
            raise config_error("set exactly one of queue: <queue id> or schedule: <schedule id>")
        return self


class PlaybackNode(Strict):
    """Play a prompt, then continue (or hang up)."""

    type: Literal["playback"]
    prompt: Prompt
    next: Ident = HANGUP


class HangupNode(Strict):
    type: Literal["hangup"]


IvrNode = Annotated[
    MenuNode | LanguageNode | CollectNode | QueueNode | HoursNode | PlaybackNode | HangupNode,
    Field(discriminator="type"),
]


def node_targets(node: Any) -> list[tuple[str, str]]:
    """(field, node id) pairs a node can continue to, for reference checks and reachability."""
    out: list[tuple[str, str]] = []
    if isinstance(node, MenuNode):
        out += [(f"options.{k}", v) for k, v in node.options.items()]
    for field in ("next", "invalid", "timeout_action", "open", "closed"):
        target = getattr(node, field, None)
        if isinstance(target, str):
            out.append((field, target))
    return out


class IvrNumber(Strict):
    """Where a caller who dialled one particular 400 number enters the tree."""

    entry: Ident
    """The first node (a ``queue`` node: straight to that queue, no menu)."""
    language: Lang | None = None
    """The caller's language from the start (default: ``language_default``)."""


class IvrConfig(Strict):
    """``ivr.yaml``: the caller's path from the 400 number to a queue."""

    languages: tuple[Lang, ...] = Field(("zh", "en"), min_length=1)
    language_default: Lang = "zh"
    entry: Ident = "main"
    numbers: dict[PhoneNumber, IvrNumber] = Field(default_factory=dict)
    """Per dialled number (DNIS), another entry node; numbers not listed use ``entry``."""

    def entry_for(self, dialled: str) -> tuple[str, str]:
        """The entry node and starting language for a call to ``dialled``."""
        number = self.numbers.get(dialled)
        if number is None:
            return self.entry, self.language_default
        return number.entry, number.language or self.language_default
    schedules: dict[Ident, BusinessHours] = Field(default_factory=dict)
    nodes: dict[Ident, IvrNode] = Field(min_length=1)

    @field_validator("language_default")
    @classmethod
    def _default_listed(cls, value: str, info: ValidationInfo) -> str:
        langs = info.data.get("languages")
        if langs is not None and value not in langs:
            raise config_error(
                f"{value!r} is not one of languages ({', '.join(langs)})"
            )
        return value


# --------------------------------------------------------------------------- the whole


class Config(Strict):
    """The validated configuration of all four files, as one immutable value.

    Containers are tuples where order matters and dicts keyed by id; treat the
    dicts as read-only (the model itself is frozen).
    """

    directory: Path
    callcenter: CallcenterConfig
    queues: dict[str, Queue]
    teams: dict[str, Team]
    agents: tuple[Agent, ...]
    ivr: IvrConfig

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def agent_by_extension(self, extension: str) -> Agent | None:
        return next((a for a in self.agents if a.extension == extension), None)

    @property
    def supervisors(self) -> tuple[Agent, ...]:
        return tuple(a for a in self.agents if a.role == "supervisor")

    def eligible_agents(self, queue_id: str) -> tuple[Agent, ...]:
        """Who may be offered this queue's contacts (membership or skills, and capacity).

        Explicit ``queues`` lists win; otherwise an agent joins every queue whose
        skills they meet. Admins join only queues they list explicitly.
        """
        queue = self.queues[queue_id]
        out = []
        for agent in self.agents:
            if agent.queues is not None:
                member = queue_id in agent.queues
            else:
                member = agent.role != "admin" and agent.meets(queue.skills)
            serves = (queue.voice and agent.takes_voice) or (queue.chat and agent.takes_chat)
            if member and serves:
                out.append(agent)
        return tuple(out)


__all__ = [
    "HANGUP",
    "Agent",
    "AgentsConfig",
    "AmiConfig",
    "Announce",
    "AsteriskConfig",
    "Blend",
    "Callback",
    "CallcenterConfig",
    "Capacity",
    "Channel",
    "ChatConfig",
    "CollectNode",
    "Config",
    "Disposition",
    "DtmfKey",
    "EscalationStep",
    "HangupNode",
    "HoursNode",
    "IvrConfig",
    "IvrNode",
    "LanguageNode",
    "LoggingConfig",
    "MenuNode",
    "PlaybackNode",
    "Queue",
    "QueueNode",
    "QueuesConfig",
    "RecordingPolicy",
    "RecordingsConfig",
    "Role",
    "StorageConfig",
    "Strategy",
    "Team",
    "WeChatConfig",
    "WebChatConfig",
    "WebConfig",
    "node_targets",
]
