"""Request and response bodies of the agent console API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callcenter.customers.schemas import Localized, ScreenPop

REASONS = ("break", "lunch", "training", "meeting", "other")
"""Not-ready reasons an agent picks from (the engine adds its own, e.g. "missed offers")."""

Reason = Literal["break", "lunch", "training", "meeting", "other"]


class DeviceLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: str | None = Field(None, description="The agent's extension (desk phone), "
                               "<extension>-web (the console's browser phone); null = chats only")
    ready: bool = False


class StateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["ready", "not_ready"]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _reason(self) -> StateRequest:
        if self.state == "not_ready" and self.reason is None:
            raise ValueError(f"not_ready needs a reason: one of {', '.join(REASONS)}")
        if self.state == "ready" and self.reason is not None:
            raise ValueError("ready takes no reason")
        return self


class WrapupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: str | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=4000)


class WrapupExtension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=5, le=600, description="added to the wrap-up's time left")


class DispositionCorrection(BaseModel):
    """A supervisor's correction of a disposition given (or owed) in a wrap-up."""

    model_config = ConfigDict(extra="forbid")

    disposition: str | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=4000)
    reason: str = Field(min_length=1, max_length=500, description="why: kept in the history")


class DispositionRecord(BaseModel):
    task_id: str
    disposition: str | None
    notes: str | None


class AgentStatus(BaseModel):
    agent_id: str
    state: str = Field(description="logged_out | ready | not_ready | reserved | busy | wrap_up")
    reason: str | None
    since: float | None = Field(None, description="When the current state began (epoch s)")
    device: str | None
    device_ok: bool | None
    phone_registered: bool | None = Field(None, description="The phone as Asterisk last "
                                          "said: registered or not; null: not known (yet)")
    offers: list[str]
    connected: list[str]
    wrapping: list[str]
    answered: int
    as_of: int = Field(description="When this was read, on the scale of the live events' "
                       "seq: events with a lower seq are in it, later reads have a higher "
                       "as_of; a page keeps the newest of reads and events")


class Profile(BaseModel):
    id: str
    name: str
    extension: str | None
    team: str | None
    team_name: str | None
    languages: list[str]
    takes_voice: bool
    takes_chat: bool


class Softphone(BaseModel):
    """What to type into Zoiper, Linphone or MicroSIP."""

    server: str
    port: int
    transport: str
    username: str | None
    password: str | None = Field(None, description="the agent's own SIP password "
                                 "(agents.yaml sip_password): only in their own console")
    password_hint: str
    browser: BrowserPhone | None = Field(None, description="the browser phone; null: the "
                                         "agent has no extension")


class BrowserPhone(BaseModel):
    """The console's own phone (WebRTC): SIP over WebSocket to Asterisk, with the
    agent's SIP password (``Softphone.password``)."""

    device: str = Field(description="sign in with this device to take calls in the page")
    websocket: str = Field(description="path of the engine's relay to Asterisk's SIP over "
                           "WebSocket, on the console's own origin (ws:// or wss://)")
    username: str
    domain: str


class Console(BaseModel):
    profile: Profile
    status: AgentStatus
    softphone: Softphone
    reasons: list[str]
    server_time: float


class Offer(BaseModel):
    offer_id: str
    task_id: str
    channel: str
    queue: str
    deadline: float | None
    pop: ScreenPop | dict


class Disposition(BaseModel):
    code: str
    label: Localized


class Wrapup(BaseModel):
    task_id: str
    queue: str | None
    queue_name: Localized | None
    channel: str | None
    dispositions: list[Disposition]
    require_disposition: bool
    summary: str | None
    customer_name: str | None = None
    caller: str | None = Field(None, description="the caller's number, masked")
    summary_expected: bool = Field(False, description="a summary will come (a recorded "
                                                      "call, transcription on)")
    ended_at: float | None = Field(None, description="when the conversation ended")
    ends_at: float | None = Field(None, description="when the wrap-up ends on its own; "
                                  "null: when this form is sent")


class ProvisioningLink(BaseModel):
    url: str = Field(description="paste into Linphone's 'Fetch remote configuration'; it "
                                 "works once, for 10 minutes")
    expires_at: float
