"""Request and response bodies of the reports API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Interval = Literal["15m", "30m", "60m", "day", "week", "month"]


class ReportQuery(BaseModel):
    """The query string of every report route; an unknown parameter is an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(None, alias="from",
                              description="First day, YYYY-MM-DD (local time); today if absent")
    to: str | None = Field(None, description="Last day included, YYYY-MM-DD; or an exact "
                           "end YYYY-MM-DDTHH:MM (excluded); ``from`` if absent")
    interval: Interval = "60m"
    by: Literal["queue", "agent", "channel", "medium"] = Field(
        "queue", description="Rows: queues, agents, channels (voice, chat) or media (pstn, "
        "callback, web, wechat: how the customer came)")
    queues: str | None = Field(None, description="Comma-separated queue ids (default: all "
                               "you may see)")
    agents: str | None = Field(None, description="Comma-separated agent ids")
    channel: Literal["voice", "chat"] | None = None
    lang: Literal["zh", "en"] = "zh"
    table: Literal["intervals", "summary"] = Field(
        "intervals", description="Downloads: per interval, or one row each over the period")


class Bucket(BaseModel):
    start: float
    end: float
    label: str = Field(description="Local time: 2026-03-01 23:45, 2026-03-01, 2026-03")


class Row(BaseModel):
    key: str
    label: str
    period: dict[str, Any] = Field(description="Every figure over the whole period")
    buckets: list[dict[str, Any] | None] = Field(
        description="The figures of each interval (null: nothing happened)")


class Column(BaseModel):
    key: str
    unit: Literal["count", "pct", "seconds", "score"]
    label: str


class TextTable(BaseModel):
    header: list[str]
    rows: list[list[str]]


class Report(BaseModel):
    start: float
    end: float
    interval: Interval
    by: str
    timezone: str
    buckets: list[Bucket]
    rows: list[Row]
    total: Row
    columns: list[Column]
    reasons: list[str] = Field(description="Not-ready reasons seen in the period")
    tables: dict[str, TextTable] = Field(
        description="summary and intervals: exactly what the page shows and the CSV holds")
