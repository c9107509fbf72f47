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

    @model_validator(mode="after")
    def _somewhere(self) -> TransferRequest:
        if self.queue is None and self.agent is None:
            raise ValueError("name a queue, an agent, or both")
        return self


class TransferResult(BaseModel):
    task_id: str
    queue: str
    agent: str
