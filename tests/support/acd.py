"""Small helpers shared by the ACD tests (named to avoid clashing with other suites)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from acd import Agent, LogEvent, Membership, Offer, Task, WithdrawOffer
from acd.events import AgentStateChanged, Output


def offers(outs: Iterable[Output]) -> list[Offer]:
    return [o for o in outs if isinstance(o, Offer)]


def only_offer(outs: Iterable[Output]) -> Offer:
    found = offers(outs)
    assert len(found) == 1, found
    return found[0]


def withdrawals(outs: Iterable[Output]) -> list[WithdrawOffer]:
    return [o for o in outs if isinstance(o, WithdrawOffer)]


def logs(outs: Iterable[Output], kind: str | None = None) -> list[LogEvent]:
    return [o for o in outs if isinstance(o, LogEvent) and (kind is None or o.kind == kind)]


def of(outs: Iterable[Output], cls: type) -> list[Any]:
    return [o for o in outs if isinstance(o, cls)]


def states(outs: Iterable[Output]) -> list[tuple[str, str]]:
    return [(o.agent_id, str(o.state)) for o in outs if isinstance(o, AgentStateChanged)]


def agent(
    aid: str,
    queues: Sequence[str] | dict[str, Membership] = ("q",),
    skills: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
    **kw: Any,
) -> Agent:
    qs = queues if isinstance(queues, dict) else {q: Membership() for q in queues}
    return Agent(
        aid,
        skills=skills or {},
        capacity=capacity if capacity is not None else {"voice": 1},
        queues=qs,
        **kw,
    )


def voice(tid: str, queue: str = "q", **kw: Any) -> Task:
    return Task(tid, "voice", queue, **kw)


def chat(tid: str, queue: str = "q", **kw: Any) -> Task:
    return Task(tid, "chat", queue, **kw)
