"""The event log as Asterisk's ``queue_log`` file, so the reporting tools people already
use on app_queue (qpanel's, Asternic-style readers) read this engine's history.

One line per event: ``epoch|uniqueid|queue|agent|event|data...``, with the data fields
app_queue writes for each event (``apps/app_queue.c``, Asterisk 22):

=================  ============================================  ==========================
event              data                                          from
=================  ============================================  ==========================
ENTERQUEUE         url | callerid | position                     ENTERQUEUE (caller masked)
CONNECT            holdtime | bridged uniqueid | ringtime        CONNECT (offer id, s)
COMPLETECALLER     holdtime | calltime | origposition            COMPLETECALLER
COMPLETEAGENT      holdtime | calltime | origposition            COMPLETEAGENT
ABANDON            position | origposition | waittime            ABANDON
EXITWITHTIMEOUT    position | origposition | waittime            EXITWITHTIMEOUT
EXITEMPTY          position | origposition | waittime            EXITEMPTY
EXITWITHKEY        key | position | origposition | waittime      EXITWITHKEY (callback)
RINGNOANSWER       ringtime (ms)                                 RINGNOANSWER, REJECT
RINGCANCELED       ringtime (ms)                                 RINGCANCELED
TRANSFER           extension | context | holdtime | calltime |   TRANSFER (extension: the
                   origposition                                  queue or agent; context
                                                                 ``queue``/``agent``);
                                                                 TRANSFEROUT and the
                                                                 COMPLETEAGENT after it
                                                                 (the number, masked;
                                                                 context ``external``)
PAUSEALL, PAUSE    reason                                        PAUSE (PAUSEALL once, then
UNPAUSEALL,        reason                                        PAUSE per queue the agent
UNPAUSE                                                          serves, as app_queue does)
AGENTLOGIN         channel                                       AGENTLOGIN
AGENTLOGOFF        channel | logintime                           AGENTLOGOFF
CONFIGRELOAD       (empty)                                       CONFIGRELOAD
=================  ============================================  ==========================

TRANSFER is the name app_queue used until Asterisk 12 (today's BLINDTRANSFER, same
fields); readers know both. The engine's own kinds (OFFER, ESCALATE, WRAPUP, HOLD,
CONSULT, DISPOSITION...) and refusals (FULL, JOINEMPTY, REFUSED: app_queue logs no line,
the caller never entered) are left out. The uniqueid is the interaction id; times are
whole seconds like app_queue's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from callcenter.storage import QueueLogEvent

NONE = "NONE"
_WAITED = {"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"}
_RINGS = {"RINGNOANSWER": "RINGNOANSWER", "REJECT": "RINGNOANSWER",
          "RINGCANCELED": "RINGCANCELED"}


def _clean(value: object) -> str:
    """A field never carries the separator or a line break (app_queue replaces '|')."""
    text = "" if value is None else str(value)
    return text.replace("|", "_").replace("\r", " ").replace("\n", " ")


def _secs(value: object) -> int:
    try:
        return int(float(value or 0))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


@dataclass
class QueueLogWriter:
    """Turns queue events, in order, into queue_log lines; remembers what a later line
    needs (a visit's original position, when an offer rang, when an agent logged in)."""

    caller: Callable[[str], str] = lambda _task: ""
    """The caller id shown on ENTERQUEUE (masked: the file is not the place for numbers)."""
    agent_queues: Mapping[str, Iterable[str]] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    """Agent id -> device channel (``PJSIP/1002``) for AGENTLOGIN/AGENTLOGOFF."""
    callback_keys: Mapping[str, str] = field(default_factory=dict)
    """Queue id -> the key its callers press for a callback (EXITWITHKEY's key)."""
    _positions: dict[str, int] = field(default_factory=dict)
    _rang: dict[str, float] = field(default_factory=dict)
    _logins: dict[str, float] = field(default_factory=dict)
    _out: dict[str, str] = field(default_factory=dict)  # task -> number it went out to

    def lines(self, events: Iterable[QueueLogEvent]) -> Iterator[str]:
        for e in events:
            yield from self.line(e)

    def line(self, e: QueueLogEvent) -> Iterator[str]:
        kind, task, data = e.event, e.interaction_id or NONE, e.data
        queue, agent = e.queue or NONE, e.agent or NONE

        def out(event: str, *fields: object, q: str = queue, uid: str = task) -> str:
            return "|".join([str(int(e.at)), _clean(uid), _clean(q), _clean(agent), event,
                             *(_clean(f) for f in fields)])

        if kind == "ENTERQUEUE":
            position = _secs(data.get("position"))
            self._positions[task] = position
            yield out(kind, "", self.caller(task), position)
        elif kind == "OFFER":
            self._rang[str(data.get("offer"))] = e.at
        elif kind == "CONNECT":
            offer = str(data.get("offer") or "")
            rang = self._rang.pop(offer, e.at)
            yield out(kind, _secs(data.get("wait")), offer, _secs(e.at - rang))
        elif kind == "TRANSFEROUT":  # its COMPLETEAGENT follows, with the times
            self._out[task] = str(data.get("to") or "")
        elif kind in ("COMPLETECALLER", "COMPLETEAGENT"):
            number = self._out.pop(task, None)
            if number is not None:  # app_queue ends a blind-transferred call so
                yield out("TRANSFER", number, "external", _secs(data.get("wait")),
                          _secs(data.get("talk")), self._positions.pop(task, 0))
                return
            yield out(kind, _secs(data.get("wait")), _secs(data.get("talk")),
                      self._positions.pop(task, 0))
        elif kind in _WAITED:
            orig = self._positions.pop(task, 0)
            yield out(kind, _secs(data.get("position") or orig), orig, _secs(data.get("wait")))
        elif kind == "EXITWITHKEY":
            orig = self._positions.pop(task, 0)
            key = data.get("key") or self.callback_keys.get(queue, "")
            yield out(kind, key, _secs(data.get("position") or orig), orig,
                      _secs(data.get("wait")))
        elif kind in _RINGS:
            rang = self._rang.pop(str(data.get("offer")), e.at)
            yield out(_RINGS[kind], round((e.at - rang) * 1000))
        elif kind == "TRANSFER":
            to_queue, to_agent = data.get("to_queue"), data.get("to_agent")
            target, context = (to_agent, "agent") if to_agent else (to_queue, "queue")
            yield out(kind, target or "", context, _secs(data.get("wait")),
                      _secs(data.get("talk")), self._positions.pop(task, 0))
        elif kind in ("PAUSE", "UNPAUSE"):
            reason = data.get("reason") or ""
            yield out(f"{kind}ALL", reason, q=NONE, uid=NONE)
            for q in sorted(self.agent_queues.get(agent, ())):
                yield out(kind, reason, q=q, uid=NONE)
        elif kind == "AGENTLOGIN":
            self._logins[agent] = e.at
            yield out(kind, self.channels.get(agent, ""), q=NONE, uid=NONE)
        elif kind == "AGENTLOGOFF":
            began = self._logins.pop(agent, None)
            yield out(kind, self.channels.get(agent, ""),
                      _secs(e.at - began) if began is not None else 0, q=NONE, uid=NONE)
        elif kind == "CONFIGRELOAD":
            yield out(kind, "", q=NONE, uid=NONE)
