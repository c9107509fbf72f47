"""Request and response bodies of the admin API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 512 * 1024


class ConfigText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)


class ConfigFile(BaseModel):
    filename: str
    text: str


class ConfigFiles(BaseModel):
    files: list[str]


class Issue(BaseModel):
    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    severity: str = Field(description="error | warning")
    text: str = Field(description="file:line:col: path: message, ready to print")


class Validation(BaseModel):
    ok: bool = Field(description="No errors (warnings may remain)")
    issues: list[Issue]


class Applied(BaseModel):
    applied: bool
    issues: list[Issue]
    summary: str | None = None
    change_id: int | None = None


class Change(BaseModel):
    id: int
    at: float
    actor: str
    filename: str
    summary: str | None


class ChangeDetail(Change):
    old_text: str | None
    new_text: str | None
