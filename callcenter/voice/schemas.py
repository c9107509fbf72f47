"""Request and response bodies of the voice API (transfer, listen / whisper / barge)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SpyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["listen", "whisper", "barge"]


class SpyResult(BaseModel):
    agent_id: str
    mode: str
    detail: dict = {}


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str | None = Field(None, max_length=64, description="A voice queue; default: "
                              "the call's own queue")
    agent: str | None = Field(None, max_length=64, description="A named agent to offer it to")
    number: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$",
                               description="A number dialled through the trunk instead "
                                           "(not with queue or agent)")

    @model_validator(mode="after")
    def _somewhere(self) -> TransferRequest:
        if self.number is not None and (self.queue is not None or self.agent is not None):
            raise ValueError("a number, or a queue and/or an agent: not both")
        if self.queue is None and self.agent is None and self.number is None:
            raise ValueError("name a queue, an agent (or both), or a number")
        return self


class TransferResult(BaseModel):
    task_id: str
    queue: str
    agent: str


class Switch(BaseModel):
    """Turn a control on (hold, mute) or off (resume, unmute)."""

    model_config = ConfigDict(extra="forbid")

    on: bool


class CallControls(BaseModel):
    """The agent's own call as the console's buttons show it (no call: task_id null)."""

    task_id: str | None
    held: bool = False
    muted: bool = False
    held_since: float | None = None
    hold_seconds: float = 0.0
    consult: str | None = Field(None, description="Whom I consult (attended transfer): an "
                                "agent id or a masked number")
    consult_answered: bool = False
    conference: bool = Field(False, description="The caller, I and the party consulted "
                                                "talk together")


class Target(BaseModel):
    id: str
    name: str | dict[str, str | None]


class Targets(BaseModel):
    """Where the agent may transfer a call: voice queues, agents who take calls (and any
    number through the trunk)."""

    queues: list[Target]
    agents: list[Target]


class MyCall(CallControls):
    """The agent's connected call and where it may be transferred."""

    transfer: Targets
    dial_out: bool = Field(description="Whether agents may dial out (an outbound caller ID "
                                       "is configured)")


class HungUp(BaseModel):
    task_id: str


class Repair(BaseModel):
    what: str
    interaction: str | None = Field(description="the call repaired (none: the phone)")
    agent: str | None


class WhyNoCalls(BaseModel):
    """What stands between the agent and the next call, after a reconcile with Asterisk."""

    state: str = Field(description="ready, not_ready, reserved, busy, wrap_up, logged_out")
    reason: str | None
    device: str | None
    device_ok: bool | None = Field(description="the phone is registered and free")
    waiting: dict[str, int] = Field(description="callers waiting now, per voice queue of "
                                                "the agent")
    repaired: list[Repair] = Field(description="what the reconcile just repaired for me "
                                               "(e.g. a call whose hang-up was lost)")
    repairs: int = Field(description="repairs made for everyone in this reconcile")
    reasons: list[Literal["logged_out", "not_ready", "reserved", "busy", "wrap_up",
                          "no_phone", "phone_unreachable", "no_voice_queue",
                          "nobody_waiting", "repaired", "none"]]


class DialRequest(BaseModel):
    """A number, or a customer to call back (their number is never shown to the agent)."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$",
                               description="Digits, an optional +")
    customer_id: int | None = Field(None, ge=1, description="A customer whose history I "
                                    "may read: their phone number is dialled")

    @model_validator(mode="after")
    def _one(self) -> DialRequest:
        if (self.number is None) == (self.customer_id is None):
            raise ValueError("a number or a customer_id (one of them)")
        return self


class DialResult(BaseModel):
    task_id: str = Field(description="The outbound interaction")
    number: str = Field(description="The number, masked")


class ConsultRequest(BaseModel):
    """Attended transfer: the caller waits with music while I talk to a colleague or a
    number first."""

    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(None, max_length=64, description="A colleague's phone")
    number: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$",
                               description="A number through the trunk")

    @model_validator(mode="after")
    def _one(self) -> ConsultRequest:
        if (self.agent is None) == (self.number is None):
            raise ValueError("an agent or a number (one of them)")
        return self


class ConsultEnd(BaseModel):
    """How a consult ends: hand the caller over, talk all three, or back to the caller."""

    model_config = ConfigDict(extra="forbid")

    then: Literal["transfer", "conference", "return"]


class MessageDone(BaseModel):
    task_id: str
    status: str = Field(description="wrap_up: the agent files the wrap-up next")


class MessageCallback(BaseModel):
    task_id: str = Field(description="the callback's first attempt (a task of the queue)")
    number: str = Field(description="the number called back, masked")
