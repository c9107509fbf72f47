"""Models of ``agents.yaml``: teams and the people who log in.

Re-exported by ``models``; import them from there.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .fields import Extension, Ident, Lang, Level, NonEmptyStr, Strict, config_error

Role = Literal["agent", "supervisor", "admin"]
BROWSER_SUFFIX = "-web"
"""An agent's browser-phone device (and PJSIP endpoint) is their extension with this."""
_SIP_PASSWORD = re.compile(r"[A-Za-z0-9\-_.!@#%^&*+=~:,/?]{8,64}")


def _display_name(value: str) -> str:
    """A person's name is shown on phones and written into Asterisk's configuration."""
    if any(ord(c) < 32 or c in '"\\[];' for c in value):
        raise config_error('may not contain control characters, quotes, brackets, "\\" or ";"')
    return value


_DisplayName = Annotated[NonEmptyStr, AfterValidator(_display_name)]


class Team(Strict):
    name: NonEmptyStr


class Capacity(Strict):
    """How many contacts of each channel an agent handles at once."""

    voice: int = Field(1, ge=0, le=1)
    chat: int = Field(3, ge=0, le=20)
    voice_message: int = Field(1, ge=0, le=20)
    """Messages callers left (closed hours, voicemail) taken at once; like chats, none
    arrive during a call unless ``chat_while_voice``."""


class Agent(Strict):
    """A person who logs in: agent, supervisor or admin.

    Without an extension a person takes no calls, whatever ``capacity.voice`` says.
    """

    id: Ident
    """Login name."""
    name: _DisplayName
    extension: Extension | None = None
    """The PJSIP endpoint name of their phone, digits (e.g. "1001")."""
    sip_password: SecretStr | None = None
    skills: dict[Ident, Level] = Field(default_factory=dict)
    queues: tuple[Ident, ...] | None = None
    """Explicit queue membership; null = every queue whose skills they meet."""
    capacity: Capacity = Field(default_factory=Capacity)
    chat_while_voice: bool = False
    voice_while_chat: bool = True
    team: Ident | None = None
    languages: tuple[Lang, ...] = Field(("zh",), min_length=1)
    role: Role = "agent"
    teams_supervised: tuple[Ident, ...] = ()
    password: SecretStr | None = None
    """Initial console password (the agent changes it on first login)."""
    auto_answer: bool = False
    """Offered calls answer themselves: the ring to the agent's phone carries
    ``Call-Info: <sip:127.0.0.1>;answer-after=0``, which the browser phone and most desk
    phones honour (check the phone's "auto answer" setting allows it)."""

    @field_validator("sip_password")
    @classmethod
    def _safe_sip_password(cls, value: SecretStr | None) -> SecretStr | None:
        # It is written into pjsip_agents.conf: a newline, "[" or ";" would add or cut
        # configuration there.
        if value is not None and not _SIP_PASSWORD.fullmatch(value.get_secret_value()):
            raise config_error("must be 8-64 characters of letters, digits and "
                               "-_.!@#%^&*+=~:,/? (no spaces, quotes, brackets or ';')")
        return value

    @field_validator("teams_supervised")
    @classmethod
    def _only_supervisors(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if value and info.data.get("role") == "agent":
            raise config_error("only a supervisor or admin supervises teams; set role: supervisor")
        return value

    @model_validator(mode="after")
    def _sip_password(self) -> Agent:
        if self.extension is not None and self.sip_password is None:
            raise config_error(
                f"has extension {self.extension} but no sip_password; set sip_password "
                '(e.g. "${CALLCENTER_SIP_PASSWORD_' + self.extension + '}")'
            )
        return self

    @property
    def browser_device(self) -> str | None:
        """The device of the agent's browser phone (the console's WebRTC phone): its own
        PJSIP endpoint beside the desk phone's, ``<extension>-web``."""
        return f"{self.extension}{BROWSER_SUFFIX}" if self.extension else None

    def devices(self) -> tuple[str, ...]:
        """The devices the agent may sign in to: the desk phone (the extension) and the
        browser phone."""
        return (self.extension, f"{self.extension}{BROWSER_SUFFIX}") if self.extension else ()

    @property
    def takes_voice(self) -> bool:
        return self.extension is not None and self.capacity.voice > 0

    @property
    def takes_chat(self) -> bool:
        return self.capacity.chat > 0

    def meets(self, skills: dict[str, int]) -> bool:
        """Whether this agent has every skill at (at least) the required level."""
        return all(self.skills.get(s, 0) >= lvl for s, lvl in skills.items())


class AgentsConfig(Strict):
    """``agents.yaml``."""

    teams: dict[Ident, Team] = Field(default_factory=dict)
    agents: tuple[Agent, ...] = ()
