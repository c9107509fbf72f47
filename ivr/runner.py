"""Walk an IVR tree from ``ivr.yaml`` for one caller.

The walk is plain logic over a *caller port* (play a prompt, ask for digits),
so it is tested with a scripted caller and served over FastAGI by
``ivr.fastagi`` without changing a line. Rules:

* menu: one key; a wrong key or silence is retried ``retries`` times (the
  prompt again), then ``invalid`` / ``timeout_action`` (default: hang up);
* language: one key chooses the language of every later prompt; silence or a
  wrong key after the retries keeps the default language and goes on;
* collect: ``min..max`` digits ended by ``#`` or the timeout; too few digits is
  retried, then ``invalid`` (default: ``next`` without the value);
* queue: the end: route to the queue unless its business hours are closed,
  in which case its ``closed_action`` applies (prompt, then a node, a message for
  the queue with ``goto: voicemail``, or hang up);
* hours: branch on a queue's or a named schedule's business hours;
* a walk longer than ``max_steps`` nodes is a loop in the tree: hang up.

Every key the caller pressed is kept as a ``Choice``: they travel with the
task and appear on the agent's screen-pop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from callcenter.config.models import (
    HANGUP,
    CollectNode,
    HangupNode,
    HoursNode,
    IvrConfig,
    LanguageNode,
    MenuNode,
    PlaybackNode,
    Queue,
    QueueNode,
)

VOICEMAIL = "voicemail"  # closed_action.goto: leave a message (unless a node has that id)


class CallerHungUp(Exception):
    """The caller left during the IVR."""


class CallerPort(Protocol):
    async def play(self, prompt: Any, language: str) -> None: ...

    async def ask(self, prompt: Any, language: str, max_digits: int,
                  timeout: float) -> str | None:
        """Play ``prompt`` and collect up to ``max_digits`` keys; None when nothing was pressed."""


@dataclass(frozen=True, slots=True)
class Choice:
    node: str
    kind: str
    pressed: str | None
    value: str | None = None
    label: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"node": self.node, "kind": self.kind, "pressed": self.pressed,
                "value": self.value, "label": self.label}


@dataclass
class IvrOutcome:
    route: Literal["queue", "voicemail", "hangup"]
    language: str
    reason: str
    queue: str | None = None
    priority: int | None = None
    skills: dict[str, int] = field(default_factory=dict)
    label: dict[str, str] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


async def run_ivr(ivr: IvrConfig, queues: Mapping[str, Queue], caller: CallerPort,
                  now: datetime, *, dialled: str = "", max_steps: int = 64) -> IvrOutcome:
    """Walk the tree from the entry of the number the caller dialled (``ivr.numbers``)."""
    node_id, language = ivr.entry_for(dialled)
    walk = _Walk(ivr, queues, caller, now)
    walk.language = language
    for _ in range(max_steps):
        if node_id == HANGUP and HANGUP not in ivr.nodes:
            return walk.hangup("hangup")
        node = ivr.nodes[node_id]
        result = await walk.step(node_id, node)
        if isinstance(result, IvrOutcome):
            return result
        node_id = result
    return walk.hangup("loop guard: too many IVR steps")


class _Walk:
    def __init__(self, ivr: IvrConfig, queues: Mapping[str, Queue], caller: CallerPort,
                 now: datetime) -> None:
        self.ivr = ivr
        self.queues = queues
        self.caller = caller
        self.now = now
        self.language = ivr.language_default
        self.choices: list[Choice] = []
        self.variables: dict[str, str] = {}

    def hangup(self, reason: str) -> IvrOutcome:
        return IvrOutcome(route="hangup", language=self.language, reason=reason,
                          choices=self.choices, variables=self.variables)

    async def step(self, node_id: str, node: Any) -> str | IvrOutcome:
        if isinstance(node, MenuNode):
            return await self._menu(node_id, node)
        if isinstance(node, LanguageNode):
            return await self._language(node_id, node)
        if isinstance(node, CollectNode):
            return await self._collect(node_id, node)
        if isinstance(node, QueueNode):
            return await self._queue(node_id, node)
        if isinstance(node, HoursNode):
            return node.open if self._is_open(node) else node.closed
        if isinstance(node, PlaybackNode):
            await self.caller.play(node.prompt, self.language)
            return node.next
        if isinstance(node, HangupNode):
            return self.hangup(f"hangup node {node_id}")
        raise TypeError(f"unknown IVR node {node_id}: {type(node).__name__}")

    async def _menu(self, node_id: str, node: MenuNode) -> str | IvrOutcome:
        silent = False
        for _ in range(node.retries + 1):
            pressed = await self.caller.ask(node.prompt, self.language, 1, node.timeout_seconds)
            if pressed and pressed in node.options:
                target = node.options[pressed]
                self.choices.append(Choice(node_id, "menu", pressed, target))
                return target
            silent = not pressed
        fallback = node.timeout_action if silent else node.invalid
        self.choices.append(Choice(node_id, "menu", None, "timeout" if silent else "invalid"))
        return fallback or self.hangup(f"no valid choice at {node_id}")

    async def _language(self, node_id: str, node: LanguageNode) -> str:
        for _ in range(node.retries + 1):
            pressed = await self.caller.ask(node.prompt, self.language, 1, node.timeout_seconds)
            if pressed and pressed in node.options:
                self.language = node.options[pressed]
                self.choices.append(Choice(node_id, "language", pressed, self.language))
                return node.next
        self.choices.append(Choice(node_id, "language", None, self.language))
        return node.next

    async def _collect(self, node_id: str, node: CollectNode) -> str:
        for _ in range(node.retries + 1):
            digits = await self.caller.ask(node.prompt, self.language, node.max_digits,
                                           node.timeout_seconds)
            if digits and digits.isdigit() and node.min_digits <= len(digits) <= node.max_digits:
                self.variables[node.variable] = digits
                self.choices.append(Choice(node_id, "collect", digits, node.variable))
                return node.next
        self.choices.append(Choice(node_id, "collect", None, node.variable))
        return node.invalid or node.next

    async def _queue(self, node_id: str, node: QueueNode) -> str | IvrOutcome:
        queue = self.queues[node.queue]
        hours = queue.business_hours
        if hours is not None and not hours.is_open(self.now):
            closed = hours.closed_action
            if closed.prompt is not None:
                await self.caller.play(closed.prompt, self.language)
            self.choices.append(Choice(node_id, "closed", None, node.queue))
            if closed.goto and closed.goto in self.ivr.nodes:
                return closed.goto
            if closed.goto == VOICEMAIL:  # the caller leaves a message for the queue
                return IvrOutcome(route="voicemail", language=self.language,
                                  reason=f"queue {node.queue} closed", queue=node.queue,
                                  choices=self.choices, variables=self.variables)
            return self.hangup(f"queue {node.queue} closed")
        if node.prompt is not None:
            await self.caller.play(node.prompt, self.language)
        label = node.label or queue.name
        text = {lang: text for lang in ("zh", "en") if (text := label.get(lang, fallback=False))}
        # Only the node's own extra skills: the engine adds those of whichever
        # queue the call is in (they change on a transfer or an overflow).
        skills = dict(node.skills or {})
        return IvrOutcome(route="queue", language=self.language, reason=f"queue node {node_id}",
                          queue=node.queue,
                          priority=node.priority if node.priority is not None else queue.priority,
                          skills=skills, label=text, choices=self.choices,
                          variables=self.variables)

    def _is_open(self, node: HoursNode) -> bool:
        if node.queue is not None:
            hours = self.queues[node.queue].business_hours
        else:
            hours = self.ivr.schedules[node.schedule]  # type: ignore[index]
        return hours is None or hours.is_open(self.now)
