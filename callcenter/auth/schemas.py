"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    username: str
    role: str
    agent_id: str | None
    display_name: str | None
    team: str | None
    teams_supervised: list[str]
    must_change_password: bool = Field(
        description="The password was given to this user: only changing it is open")
    consoles: list[str] = Field(description="The console pages this role may open")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)
    """Judged by auth/passwords.py, which says exactly what is wrong (422 new_password)."""


class PasswordReset(BaseModel):
    username: str
    temporary_password: str = Field(description="Shown this once; give it to the user")


class Done(BaseModel):
    ok: bool = True
