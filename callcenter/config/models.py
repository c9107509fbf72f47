"""Typed models of the configuration files and of the combined ``Config``.

Each file's models live in their own module (``callcenter_file``, ``queues_file``,
``agents_file``, ``ivr_file``, ``quality_file``; shared field types in ``fields``);
this module assembles ``Config`` and re-exports them, so import from here.

Names here are a contract with the rest of the engine (ACD, IVR, web, chat):
fields may be added, not renamed. Every model is frozen and rejects unknown keys;
checks that need another file (does that queue exist?) live in ``crosscheck``.
"""

from __future__ import annotations

from pathlib import Path

from .agents_file import BROWSER_SUFFIX, Agent, AgentsConfig, Capacity, Role, Team
from .callcenter_file import (
    AmiConfig,
    AsteriskConfig,
    CallcenterConfig,
    CsatConfig,
    LoggingConfig,
    MetricsConfig,
    RecordingsConfig,
    ReportsConfig,
    StorageConfig,
    SttConfig,
    WebConfig,
)
from .chat_file import (
    CannedReply,
    ChatConfig,
    LeaveMessage,
    Topic,
    TranscriptEmail,
    Uploads,
    VisitorLimits,
    WebChatConfig,
    WeChatConfig,
)
from .fields import WEEKDAYS, DtmfKey, Strict, TimeRange, Weekly
from .ivr_file import (
    HANGUP,
    CollectNode,
    HangupNode,
    HoursNode,
    IvrConfig,
    IvrNode,
    IvrNumber,
    LanguageNode,
    MenuNode,
    PlaybackNode,
    QueueNode,
    node_targets,
)
from .quality_file import QualityConfig, QueueRules
from .queues_file import (
    Announce,
    Blend,
    Callback,
    Channel,
    Disposition,
    EscalationStep,
    LeaveWhenEmpty,
    Queue,
    QueuesConfig,
    RecordingPolicy,
    Strategy,
    WhenEmpty,
)


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
    quality: QualityConfig = QualityConfig()
    """``quality.yaml`` (optional): inspection rules and summary topics per queue."""

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

    def always_open(self) -> Config:
        """This configuration with every queue and IVR schedule open around the clock:
        a demo outside business hours (``callcenter run --demo --always-open``); the
        files are not touched."""
        every_day = Weekly(**{day: (TimeRange(start_minute=0, end_minute=24 * 60),)
                              for day in WEEKDAYS})
        schedules = {sid: hours.model_copy(update={"weekly": every_day, "holidays": ()})
                     for sid, hours in self.ivr.schedules.items()}
        return self.model_copy(update={
            "queues": {qid: q.model_copy(update={"business_hours": None})
                       for qid, q in self.queues.items()},
            "ivr": self.ivr.model_copy(update={"schedules": schedules})})


__all__ = [
    "BROWSER_SUFFIX",
    "HANGUP",
    "Agent",
    "AgentsConfig",
    "AmiConfig",
    "Announce",
    "AsteriskConfig",
    "Blend",
    "Callback",
    "CallcenterConfig",
    "CannedReply",
    "Capacity",
    "Channel",
    "ChatConfig",
    "CollectNode",
    "Config",
    "CsatConfig",
    "Disposition",
    "DtmfKey",
    "EscalationStep",
    "HangupNode",
    "HoursNode",
    "IvrConfig",
    "IvrNode",
    "IvrNumber",
    "LanguageNode",
    "LeaveMessage",
    "LeaveWhenEmpty",
    "LoggingConfig",
    "MenuNode",
    "MetricsConfig",
    "PlaybackNode",
    "QualityConfig",
    "Queue",
    "QueueNode",
    "QueueRules",
    "QueuesConfig",
    "RecordingPolicy",
    "RecordingsConfig",
    "ReportsConfig",
    "Role",
    "StorageConfig",
    "Strategy",
    "SttConfig",
    "Team",
    "Topic",
    "TranscriptEmail",
    "Uploads",
    "VisitorLimits",
    "WeChatConfig",
    "WebChatConfig",
    "WebConfig",
    "WhenEmpty",
    "node_targets",
]
