"""Who is calling, and what each role may see: the web framework's side of access.

A ``Principal`` is the session's user with their teams as agents.yaml says now;
the policy functions answer the finer questions (a supervisor's teams) that the
route table's roles cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.config.models import Config
from callcenter.storage import User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the session's user, with their teams as agents.yaml says now."""

    username: str
    role: str
    agent_id: str | None
    display_name: str | None
    team: str | None = None
    supervises: frozenset[str] = frozenset()
    must_change_password: bool = False
    """Their password was chosen for them: only the password change is open to them."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def as_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "agent_id": self.agent_id,
                "display_name": self.display_name, "team": self.team,
                "teams_supervised": sorted(self.supervises),
                "must_change_password": self.must_change_password}


def principal_for(user: User, config: Config) -> Principal:
    agent = config.agent(user.agent_id) if user.agent_id else None
    if agent is not None:
        return Principal(user.username, user.role, agent.id, user.display_name or agent.name,
                         agent.team, frozenset(agent.teams_supervised),
                         user.must_change_password)
    return Principal(user.username, user.role, user.agent_id, user.display_name, None,
                     frozenset(user.teams), user.must_change_password)


def may_supervise(principal: Principal, agent_id: str, config: Config) -> bool:
    """Admins act on anyone; a supervisor on agents of a team they supervise."""
    if principal.role == "admin":
        return True
    if principal.role != "supervisor":
        return False
    agent = config.agent(agent_id)
    return agent is not None and agent.team is not None and agent.team in principal.supervises


def visible_agent_ids(principal: Principal, config: Config) -> list[str]:
    return [a.id for a in config.agents if may_supervise(principal, a.id, config)]


def visible_queue_ids(principal: Principal, config: Config) -> list[str]:
    """Queues a supervisor watches: those naming one of their teams, or no team at all."""
    if principal.role == "admin":
        return list(config.queues)
    if principal.role != "supervisor":
        return []
    return [qid for qid, q in config.queues.items()
            if not q.teams or principal.supervises.intersection(q.teams)]


UNMASKED_ROLES = frozenset({"supervisor", "admin"})
"""Roles that see whole phone numbers. Everyone else (agents) gets them masked, in the
API and on the WebSocket alike: they need the gist, and act on a number (a callback)
through the engine, never by reading it."""


def sees_numbers(principal: Principal) -> bool:
    """Whether this user may see whole phone numbers (``UNMASKED_ROLES``)."""
    return principal.role in UNMASKED_ROLES


def customer_queues(principal: Principal, config: Config) -> frozenset[str] | None:
    """The queues through which this user sees customers; None: every customer (admins).

    A supervisor sees a customer who had an interaction (call or chat) in a queue they
    watch, and of that customer's history only the entries of those queues: another
    team's calls are that team's business. Agents get no queue: they see a customer
    whose interaction was offered or connected to them (``CustomerService.served_by``),
    and then the history their screen-pop shows.
    """
    if principal.role == "admin":
        return None
    if principal.role == "supervisor":
        return frozenset(visible_queue_ids(principal, config))
    return frozenset()
