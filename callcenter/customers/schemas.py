"""The screen-pop and customer history as the API documents them.

``CustomerService`` builds plain dicts (they travel on the bus); these models are
their documented shape, and the history endpoint validates its answer against them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Localized(BaseModel):
    zh: str | None = None
    en: str | None = None


class Identity(BaseModel):
    kind: str = Field(description="phone | wechat_openid | web_visitor | email")
    masked: str


class CustomerCard(BaseModel):
    id: int
    name: str | None
    vip: bool = False
    identities: list[Identity]
    tags: list[str] = Field([], description="Labels staff gave the customer")
    note: str | None = Field(None, description="Staff's note on the customer (numbers "
                             "masked for agents)")


class ProfileChange(BaseModel):
    """What staff change on a customer's profile; a field left out is kept. Only
    supervisors and admins set VIP."""

    model_config = ConfigDict(extra="forbid")

    tags: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=20)]] | None = Field(
        None, max_length=10)
    note: str | None = Field(None, max_length=1000, description="\"\" clears it")
    vip: bool | None = None


class IvrChoice(BaseModel):
    node: str | None
    kind: str | None
    pressed: str | None
    value: str | None
    label: str | None
    display: Localized | None = Field(None, description="What the caller chose, in words")


class MessageLine(BaseModel):
    direction: str = Field(description="in (from the customer) | out")
    body: str
    at: float


class InteractionCard(BaseModel):
    id: str
    queue: str | None = None
    queue_name: Localized | None = None
    channel: str | None = None
    medium: str | None = None
    caller_masked: str | None = None
    ivr_choices: list[IvrChoice] = []
    label: Localized | str | None = None
    dialled: str | None = Field(None, description="Calls: the service number the caller "
                                "dialled (which 400 line: sales, service, VIP...)")
    language: str | None = None
    arrived_at: float | None = None
    waited: float | None = None
    last_messages: list[MessageLine] = Field(
        [], description="Chats: the customer's latest messages in this conversation")


class HistoryItem(BaseModel):
    interaction_id: str
    channel: str
    medium: str | None
    direction: str = Field("inbound", description="inbound | outbound (an agent dialled out)")
    queue: str | None
    queue_name: Localized | None
    agent_id: str | None
    arrived_at: float | None
    answered_at: float | None
    ended_at: float | None
    outcome: str | None
    disposition: str | None
    disposition_label: Localized | None
    notes: str | None
    summary: str | None
    last_messages: list[MessageLine]


class ScreenPop(BaseModel):
    customer: CustomerCard | None
    interaction: InteractionCard
    history: list[HistoryItem] = Field(description="Newest first, without this interaction")


class CustomerHistory(BaseModel):
    customer: CustomerCard
    history: list[HistoryItem]
