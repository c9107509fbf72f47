"""A hostile caller ID never reaches ``Dial()`` (issue 9, rule C6 of voice/callbacks.py).

A caller ID such as ``123&PJSIP/999`` would ring a second device if it reached a dial
string, and ``1,2`` would end Dial's first argument early. Each way a number can reach a
dial string is tried here with those; nothing is queued, stored or sent to Asterisk.
No Asterisk is needed: the AMI link records what it would have sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import acd
from callcenter.config import load_config
from callcenter.voice.base import VoiceError
from callcenter.voice.callbacks import Callbacks, dialable
from callcenter.voice.calls import CallBook, Ring, VoiceCall
from callcenter.voice.offers import Offers

HOSTILE = ["123&PJSIP/999", "1,2", "13800138000&PJSIP/1001", "138001,38000", "12)(3",
           "1001\nAction: Originate", "${SHELL(id)}"]
CONFIG = load_config(Path(__file__).resolve().parents[3] / "config", env={}).config


class Recorder:
    """Stands in for the link, the routing service, the store and the agents: it notes
    every call, so a test can say nothing was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str):
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args))
        return record


class Deps:
    def __init__(self) -> None:
        self.link, self.routing, self.store, self.agents = (Recorder(), Recorder(),
                                                            Recorder(), Recorder())
        self.sent: list[dict[str, Any]] = []
        self.book = CallBook()

    def config(self):
        return CONFIG

    def clock(self) -> float:
        return 1000.0

    async def send(self, actions, what: str) -> bool:
        self.sent.extend(actions)
        return True

    def endpoint(self, extension: str) -> str:
        return extension


@pytest.mark.parametrize("number", HOSTILE)
def test_dialable_refuses_it(number: str) -> None:
    assert dialable(number) is None


@pytest.mark.parametrize("number", HOSTILE)
async def test_a_caller_asking_a_callback_with_it_is_refused_before_anything(number) -> None:
    deps = Deps()
    call = VoiceCall(task_id="t1", caller_uid="1.1", queue="sales", caller_number=number,
                     customer_id=None)
    await Callbacks(deps).requested(call, number)  # type: ignore[arg-type]
    assert not call.callback
    assert deps.routing.calls == [] and deps.store.calls == [] and deps.sent == []


@pytest.mark.parametrize("number", HOSTILE)
async def test_a_callback_asked_for_with_it_is_refused(number: str) -> None:
    deps = Deps()
    with pytest.raises(VoiceError, match="not a phone number"):
        await Callbacks(deps).request(number, "sales", customer_id=None,  # type: ignore[arg-type]
                                      origin="chat")
    assert deps.routing.calls == [] and deps.store.calls == [] and deps.sent == []


@pytest.mark.parametrize("number", HOSTILE)
async def test_an_offered_callback_to_it_is_never_originated(number: str) -> None:
    """Even a row that somehow holds it (written by an older version, say): the agent's
    offer is given back and no Originate (whose dialplan would Dial it) is sent."""
    deps = Deps()
    call = VoiceCall(task_id="t1", caller_uid="callback-t1", queue="sales",
                     caller_number=number, customer_id=None, callback=True, callback_id=1)
    deps.book.add(call)
    offers = Offers(deps, recorder=None, callbacks=Callbacks(deps))  # type: ignore[arg-type]
    offer = acd.Offer("o1", "t1", "zhangwei", "voice", "sales", None)
    await offers._originate_callback(call, Ring("o1", "zhangwei", "1001"), offer)
    assert deps.sent == []
    assert ("reject", ("o1",)) in deps.routing.calls

