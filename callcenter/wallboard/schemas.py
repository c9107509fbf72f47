"""Request and response bodies of the supervisor API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callcenter.agents.schemas import Reason
from callcenter.customers.schemas import Localized


class ChannelCounts(BaseModel):
    offered: int
    answered: int


class QueueTile(BaseModel):
    id: str
    name: Localized
    channels: list[str]
    teams: list[str]
    waiting: int
    no_eligible: int = Field(0, description="Of those waiting, how many no ready agent may "
                             "take now (none qualified and ready, or all declined it)")
    ready_agents: int = Field(0, description="Ready agents who may take this queue's "
                              "contacts (members with a slot for its channels and its "
                              "skill levels)")
    longest_wait: float
    service_level: float | None = Field(description="Fraction answered within the threshold")
    service_level_seconds: float
    asa: float | None = Field(description="Average speed of answer, seconds")
    abandon_rate: float | None
    entered: int
    answered: int
    abandoned: int
    by_channel: dict[str, ChannelCounts]
    extras: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="Figures other features add per queue, e.g. speech: "
        "{backlog, failed, flagged} (calls waiting for transcription, failed and flagged today)")


class AgentTask(BaseModel):
    task_id: str
    channel: str | None
    queue: str | None
    status: str = Field(description="offered | connected | wrap_up")


class AgentRow(BaseModel):
    id: str
    name: str
    team: str | None
    team_name: str | None = None
    role: str
    extension: str | None
    state: str
    reason: str | None
    since: float | None
    tasks: list[AgentTask]
    answered: int
    device: str | None
    device_ok: bool | None
    phone_registered: bool | None = None  # null: no phone, or not known yet


class IntervalBar(BaseModel):
    queue: str
    start: float
    entered: int
    answered: int
    abandoned: int


class Wallboard(BaseModel):
    now: float
    day_start: float
    timezone: str = Field(description="callcenter.yaml's: the clock and the chart's hours")
    interval_seconds: float
    queues: list[QueueTile]
    agents: list[AgentRow]
    intervals: list[IntervalBar]


class ForceState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["ready", "not_ready", "logged_out"]
    reason: Reason | None = None
