"""Models of ``callcenter.yaml``: connections, ports, paths and channels.

Re-exported by ``models``; import them from there.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from .chat_file import ChatConfig
from .fields import (
    NonEmptyStr,
    OptionalSecret,
    PhoneNumber,
    Port,
    PositiveSeconds,
    ResolvedPath,
    Strict,
    TimeZoneName,
    config_error,
)
from .queues_file import RecordingPolicy


class AmiConfig(Strict):
    """How the engine reaches Asterisk's manager interface."""

    host: NonEmptyStr = "127.0.0.1"
    port: Port = 5038
    username: NonEmptyStr = "callcenter"
    secret: OptionalSecret = None
    """None: a managed Asterisk gets a random one, kept in the data folder (var/ami.secret,
    mode 600); an Asterisk you run yourself needs it set here."""
    action_timeout_seconds: float = Field(10, gt=0, le=300)
    ping_interval_seconds: float = Field(5, gt=0, le=300)
    reconnect_max_delay_seconds: float = Field(5, gt=0, le=600)


_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")


class AsteriskConfig(Strict):
    """The Asterisk the engine drives (a private local one when ``managed``)."""

    managed: bool = True
    sip_bind: str = "127.0.0.1"
    """The IPv4 address PJSIP listens on for softphones and the carrier (0.0.0.0: every
    interface). Beyond loopback, no SIP password shipped with the sample may be in force."""
    public_address: str | None = None
    """The address (or host name) agents' softphones register to, shown in each agent's
    console; default: sip_bind (required when sip_bind is 0.0.0.0)."""
    sip_port: Port = 5060
    websocket_port: Port = 8088
    """Asterisk's SIP over WebSocket (its HTTP server, http.conf, on sip_bind): browser
    phones (the agent console's, WebRTC) reach it through the engine's relay on the
    consoles' own origin (``/api/phone/ws``), not directly."""
    rtp_start: Port = 10000
    rtp_end: Port = 10999
    agi_host: NonEmptyStr = "127.0.0.1"
    agi_port: Port = 4573
    agi_secret: OptionalSecret = None
    """Asterisk proves itself to the IVR with this (the dialplan's global CC_AGI_KEY).
    None: a random one kept in the data folder (var/agi.secret, mode 600)."""
    host_root: str = ""
    """Prefix under which Asterisk's files appear on this host ("" = same host)."""
    inbound_numbers: tuple[PhoneNumber, ...] = ()
    """The 400 numbers callers dial, digits only."""
    agent_endpoint_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$")] = ""
    callback_dial: Annotated[str, Field(pattern=r"\{number\}")] = "PJSIP/{number}@carrier"
    """Dial string for calling a customer back; ``{number}`` is their number."""
    reconcile_seconds: PositiveSeconds = 30
    """How often the engine compares its agents and calls with Asterisk's live channels
    and device states, and repairs what a lost event left behind (logged)."""
    outbound_caller_id: PhoneNumber | None = None
    """The caller ID customers see when an agent dials out from the console (digits, a
    number the carrier lets you present); None: agents cannot dial out."""
    outbound_recording: RecordingPolicy = RecordingPolicy()
    """Dial-outs are recorded as a queue's calls are (queues.yaml ``recording``), from
    the moment the number answers; ``enabled: false``: not recorded."""
    files_dir: str = "/var/lib/asterisk/callcenter"
    """A folder Asterisk and the engine share (Asterisk's view; on this host it is
    ``host_root`` + this): generated endpoints in ``include/``, the recordings
    spool in ``recordings/`` and rendered prompts in ``sounds/``. A managed
    Asterisk uses its own instance folder instead."""

    @field_validator("sip_bind")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise config_error("{value} is not an IPv4 address (e.g. 127.0.0.1, "
                               "192.168.1.10 or 0.0.0.0 for every interface)", value) from None
        return value

    @field_validator("public_address")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not _HOST.fullmatch(value):
            raise config_error("{value} is not an IP address or host name", value)
        return value

    @model_validator(mode="after")
    def _where_phones_register(self) -> AsteriskConfig:
        if self.public_address is None and self.sip_bind == "0.0.0.0":
            raise config_error("sip_bind 0.0.0.0 listens on every interface, so the consoles "
                               "cannot tell softphones where to register: set public_address")
        return self

    @property
    def softphone_address(self) -> str:
        """Where agents' softphones register (shown in their console)."""
        return self.public_address or self.sip_bind

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
    login_failures_allowed: int = Field(5, ge=1, le=1000)
    """Wrong passwords for one user from one address before each further try waits a
    doubling delay (ten times as many per address, whatever the user): see auth/throttle.py.
    Sign-ins that succeed never count."""
    session_idle_minutes: int = Field(240, ge=5, le=24 * 60)
    """A console session unused this long ends (an open console keeps its session in use)."""
    session_max_hours: int = Field(12, ge=1, le=7 * 24)
    """A console session ends this long after its login, used or not."""

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


class StorageConfig(Strict):
    """Where the engine keeps its SQLite database."""

    path: ResolvedPath = Path("var/callcenter.sqlite3")


class RecordingsConfig(Strict):
    """Where finished call recordings are kept (transcription is ``stt``)."""

    directory: ResolvedPath = Path("var/recordings")


def _language(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?", value):
        raise config_error("{value} is not a language code: write it as the IVR names "
                           "languages, e.g. zh, en, yue or zh-TW", value)
    return value


_LanguageCode = Annotated[str, AfterValidator(_language)]
"""A caller language as the IVR names it: ``zh``, ``en``, ``ko``, ``yue``, ``zh-TW``."""
_BACKEND = re.compile(r"vosk|[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class SttConfig(Strict):
    """Speech to text after every recorded call: transcript, summary, quality inspection.

    Decoding runs in ``workers`` processes on this machine; nothing leaves it.
    """

    enabled: bool = True
    """Transcribe each call once its recording is archived (off: nothing is queued;
    ``callcenter transcribe`` can still process the recordings later)."""
    backend: str = "vosk"
    """The recognizer: ``vosk``, or ``package.module:Class`` for another backend."""
    models: dict[_LanguageCode, ResolvedPath] = Field(default_factory=dict)
    """One model folder per caller language (the language chosen in the IVR). A call in
    a language without a model is marked failed with that reason, never dropped."""
    workers: int = Field(1, ge=1, le=64)
    """Decoding processes; each keeps one CPU core busy while it decodes."""
    queue_size: int = Field(8, ge=1, le=1000)
    """Recording legs waiting for a worker, at most; further calls wait in the durable
    backlog (SQLite), so memory stays bounded whatever the backlog."""
    retries: int = Field(2, ge=0, le=10)
    """A leg that fails to decode is tried again this many times; then the call is marked
    failed with every reason (``callcenter transcribe`` re-runs it)."""
    job_timeout_seconds: float = Field(1800, gt=0)
    """One decode running longer is killed and counts as a failed attempt (a hung
    decoder); decoding takes about 0.2 s per second of audio on one core."""

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if not _BACKEND.fullmatch(value):
            raise config_error("{value} is not a speech backend: write vosk, or "
                               "package.module:Class for another recognizer", value)
        return value


class CsatConfig(Strict):
    """How customers are asked to rate a contact (1-5); the web widget always asks."""

    voice_survey: bool = False
    """After the agent hangs up, the caller stays on the line and hears, in the language
    chosen in the IVR, a question answered with a key from 1 to 5."""
    wechat_rating: bool = True
    """When a WeChat chat an agent served ends, the follower gets a message asking for a
    1-5 reply (inside the customer-service window); the reply is a rating, not a chat."""


class ReportsConfig(Strict):
    """Interval statistics and CSAT (callcenter/reports/README.md has every definition)."""

    first_contact_days: int = Field(7, ge=1, le=90)
    """A contact is resolved at first contact when its customer makes no other inbound
    contact, on any channel, within this many days."""
    satisfied_from: int = Field(4, ge=1, le=5)
    """CSAT %: the share of ratings at or above this score (of 5)."""
    csat: CsatConfig = Field(default_factory=CsatConfig)


class MetricsConfig(Strict):
    """``GET /metrics`` for Prometheus."""

    token: OptionalSecret = None
    """Scrapers send ``Authorization: Bearer <token>``; None: loopback clients only."""


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"


class CallcenterConfig(Strict):
    """``callcenter.yaml``: connections, ports, paths and channels."""

    timezone: TimeZoneName = "Asia/Shanghai"
    """Where the contact center's day starts and ends: daily counters, "today"."""
    ami: AmiConfig = Field(default_factory=AmiConfig)
    asterisk: AsteriskConfig = Field(default_factory=AsteriskConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    recordings: RecordingsConfig = Field(default_factory=RecordingsConfig)
    stt: SttConfig = Field(default_factory=SttConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
