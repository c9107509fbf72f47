"""Request and response bodies of the speech API (transcripts, summaries, inspections,
search, flagged calls, the backlog). The quality rules' own models are configuration:
``callcenter.config.quality_file``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["none", "queued", "running", "done", "partial", "failed"]


class Word(BaseModel):
    text: str
    start: float
    end: float
    conf: float


class Line(BaseModel):
    index: int
    speaker: str = Field(description="caller | agent (| mixed: legs not recorded apart)")
    start: float = Field(description="Seconds from the start of the recording")
    end: float
    text: str
    words: list[Word] = []


class Transcript(BaseModel):
    task_id: str
    status: JobStatus = Field(description="Where the call's transcription is")
    error: str | None = Field(None, description="Why it failed, or which leg failed")
    language: str | None = None
    duration: float | None = None
    masked: bool = Field(description="Personal numbers masked for this reader")
    lines: list[Line] = []


class EvidenceRef(BaseModel):
    utterance: int | None
    speaker: str | None
    text: str
    rule: str


class Reason(BaseModel):
    text: str
    evidence: list[EvidenceRef]


class Entity(BaseModel):
    kind: str = Field(description="phone, id_number, account_number, order_number, amount, "
                                  "date")
    value: str
    detail: str
    valid: bool | None
    evidence: EvidenceRef


class Topic(BaseModel):
    name: str
    score: float
    evidence: list[EvidenceRef]


class Sentiment(BaseModel):
    score: float = Field(description="-1 very negative .. +1 very positive (the caller)")
    label: str
    angry: bool
    evidence: list[EvidenceRef]


class KeySentence(BaseModel):
    text: str
    score: float
    evidence: EvidenceRef
    terms: list[str]


class Summary(BaseModel):
    task_id: str
    status: JobStatus
    masked: bool
    text: str | None = Field(None, description="The paragraph agents see (always masked)")
    language: str | None = None
    reason: Reason | None = None
    entities: list[Entity] = []
    topics: list[Topic] = []
    sentiment: Sentiment | None = None
    key_sentences: list[KeySentence] = []


class FlagLine(BaseModel):
    index: int
    speaker: str
    start: float
    end: float
    text: str


class Flag(BaseModel):
    id: int
    task_id: str
    queue: str | None
    agent_id: str | None
    rule: str
    code: str = Field(description="e.g. missing:greeting, forbidden:<phrase>, silence")
    message: str
    deduction: float
    start: float | None
    end: float | None
    lines: list[FlagLine] = Field(description="The transcript lines that caused it")
    status: Literal["open", "confirmed", "dismissed"]
    reviewed_by: str | None
    reviewed_at: float | None
    review_note: str | None
    created_at: float


class Inspection(BaseModel):
    task_id: str
    status: JobStatus
    queue: str | None = None
    agent_id: str | None = None
    score: float | None = None
    passed: bool | None = None
    pass_score: float | None = None
    rules: str | None = Field(None, description="Whose rules: a queue's, or default")
    metrics: dict[str, float] = {}
    flags: list[Flag] = []


class SearchHit(BaseModel):
    task_id: str
    queue: str | None
    agent_id: str | None
    at: float
    score: float | None
    snippet: str | None = Field(description="The first line that matched (masked as the "
                                            "reader must see it)")
    speaker: str | None
    start: float | None


class FlagReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["confirm", "dismiss"]
    note: str | None = Field(None, max_length=1000)


class Job(BaseModel):
    task_id: str
    status: JobStatus
    queue: str | None
    language: str | None
    attempts: int
    error: str | None
    created_at: float
    finished_at: float | None
