"""Agent transitions: presence (table ``PRESENCE``), holdings, wrap-ups, reported state."""

from __future__ import annotations

from ._state import (
    EP_ALWAYS,
    READY,
    AgentState,
    PresenceInput,
    next_presence,
    summary_state,
)
from .events import (
    K_PAUSE,
    K_UNPAUSE,
    K_WRAPUP,
    AgentStateChanged,
    Ignored,
    LogEvent,
    Output,
)
from .indexes import staff
from .model import VOICE, OwedWrapup
from .records import AgentRec, Core, QueueRec, WrapRec
from .routing import dispatch_agent
from .timers import T_WRAP, schedule

_AS_NOT_READY = AgentState.NOT_READY

_AHT_ALPHA = 0.25  # app_queue's holdtime smoothing: new = (3 * old + sample) / 4


def flush_states(core: Core, now: float, out: list[Output]) -> None:
    """Report the summary state (rule A2) of every agent touched by this input,
    once and at the end, so transient states are never reported."""
    dirty = core.dirty
    for a in dirty.values():
        s = summary_state(a.presence, len(a.offers), len(a.connected), len(a.wraps))
        r = a.reason if s is _AS_NOT_READY else None
        if s is not a.reported or r != a.reported_reason:
            a.reported = s
            a.reported_reason = r
            out.append(AgentStateChanged(now, a.id, s, r))
    dirty.clear()


def set_presence(
    core: Core,
    a: AgentRec,
    inp: PresenceInput,
    reason: str | None,
    now: float,
    out: list[Output],
) -> None:
    """Apply a presence input (table ``PRESENCE``) with its staffing and log."""
    new = next_presence(a.presence, inp)
    if new is None:
        return
    old = a.presence
    if new is READY:
        if old is READY:
            return
        a.reason = None
        a.missed = 0
        staff(core, a, 1)
        out.append(LogEvent(now, K_UNPAUSE, None, None, a.id, {}))
    else:
        if old is READY:
            staff(core, a, -1)
        a.reason = reason or "not ready"
        out.append(LogEvent(now, K_PAUSE, None, None, a.id, {"reason": a.reason}))
        for name in a.cfg.queues:
            q = core.queues.get(name)
            if q is not None and q.cfg.leave_when_empty is not EP_ALWAYS:
                core.empty_check[name] = q
    a.presence = new
    core.dirty[a.id] = a


def release(a: AgentRec, ch: str) -> None:
    """Free one slot of ``ch`` (offer gone or wrap-up over, rule A1)."""
    a.holding[ch] -= 1
    if ch != VOICE:
        a.text_holding -= 1
    a.stamp += 1


def start_wrap(
    core: Core,
    a: AgentRec,
    task_id: str,
    q: QueueRec,
    ch: str,
    talk: float,
    now: float,
    out: list[Output],
) -> None:
    """The conversation is over: wrap-up keeps the slot for the queue's
    ``wrapup_seconds``, or until done in a ``wrapup_until_done`` queue (rule A6;
    neither: the agent is free at once)."""
    ws = q.cfg.wrapup_seconds
    if q.cfg.wrapup_until_done:
        a.wraps[task_id] = WrapRec(a, task_id, q, ch, now, talk, None)
        core.dirty[a.id] = a
    elif ws > 0:
        w = a.wraps[task_id] = WrapRec(a, task_id, q, ch, now, talk, now + ws)
        schedule(core, now + ws, T_WRAP, w, w.until)
        core.dirty[a.id] = a
    else:
        wrap_ended(core, a, task_id, q, ch, 0.0, talk, now, out)
        dispatch_agent(core, a, now, out)


def finish_wrap(core: Core, a: AgentRec, w: WrapRec, now: float, out: list[Output]) -> None:
    """End a running wrap-up (its timer, or ``wrapup_done``)."""
    w.live = False
    a.wraps.pop(w.task_id, None)
    wrap_ended(core, a, w.task_id, w.queue, w.channel, now - w.start, w.talk, now, out,
               resumed=w.resumed)


def resume_wrap(core: Core, a: AgentRec, owed: OwedWrapup, now: float,
                out: list[Output]) -> None:
    """A form the agent owed when the previous run stopped holds its slot again in a
    ``wrapup_until_done`` queue (rule A6). Even over capacity: a restored agent's phone
    counts as down (voice capacity 0) until Asterisk says otherwise, and the slot must
    still be taken when it comes back."""
    q = core.queues.get(owed.queue)
    ch = owed.channel
    if q is None or not q.cfg.wrapup_until_done:
        out.append(Ignored("agent_login", owed.task_id, "its queue does not wait for the form"))
    elif owed.task_id not in a.wraps:
        a.wraps[owed.task_id] = WrapRec(a, owed.task_id, q, ch, now, 0.0, None, resumed=True)
        a.holding[ch] = a.holding.get(ch, 0) + 1
        if ch != VOICE:
            a.text_holding += 1
        a.stamp += 1


def wrap_ended(
    core: Core,
    a: AgentRec,
    task_id: str,
    q: QueueRec,
    ch: str,
    dur: float,
    talk: float,
    now: float,
    out: list[Output],
    *,
    resumed: bool = False,
) -> None:
    release(a, ch)
    data = {"seconds": dur, "talk": talk}
    if resumed:  # its talk and the wrap-up's first part were the previous run's
        data["resumed"] = True
    out.append(LogEvent(now, K_WRAPUP, task_id, q.name, a.id, data))
    if not resumed:
        sample = talk + dur
        q.aht = sample if q.aht is None else q.aht + _AHT_ALPHA * (sample - q.aht)
    a.idle_since = now
    if a.cfg.after_wrapup == "not_ready" and a.presence is READY:  # rule A5
        set_presence(core, a, PresenceInput.SET_NOT_READY, "after wrap-up", now, out)
    core.dirty[a.id] = a
