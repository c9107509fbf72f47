"""Attended transfer and the three-way call, end to end with three real phones: the caller
(pyVoIP through the IVR), zhangwei who answers, and lina whom zhangwei consults. Audio is
measured at each phone: a tone one plays must be what the other hears."""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import energy
from callcenter.voice.base import VoiceError
from tests.support.audio import heard, heard_by, share_near
from tests.support.voice import agent_state, dial_queue, queued, wait_until

pytestmark = pytest.mark.asterisk


async def three_phones(voice_app, phones):
    """A caller talking to zhangwei; lina's phone registered and answering by itself."""
    app = await voice_app()
    zhangwei = await phones("1001", "dev-sip-1001", auto_answer=True)
    lina = await phones("1002", "dev-sip-1002", auto_answer=True)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login("zhangwei", device="1001", ready=True)
    call = await dial_queue(await phones("caller", "caller"), "sales")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].bridged, timeout=15, what="the bridge")
    await wait_until(lambda: zhangwei.incoming, what="zhangwei's leg")
    await asyncio.sleep(0.5)
    return app, call, zhangwei.incoming[0], lina, task_id


async def consult_lina(app, lina, n: int):
    view = await app.voice.consult("zhangwei", to_agent="lina")
    assert view["consult"] == "lina" and view["held"]
    await wait_until(lambda: len(lina.incoming) > n, what="lina's phone to ring")
    await wait_until(lambda: app.voice.controls.state("zhangwei")["consult_answered"],
                     what="lina to answer")
    await asyncio.sleep(0.5)
    return lina.incoming[n]


async def steps(app, task_id):
    await app.routing.flush()
    return [e for e in await app.store.events_between(0, 2e9, interaction_id=task_id)]


async def test_consult_a_colleague_then_hand_the_caller_over(voice_app, phones):
    app, call, leg, lina, task_id = await three_phones(voice_app, phones)
    lina_leg = await consult_lina(app, lina, 0)
    on_hold = await heard(call, leg, 880)  # the caller hears music, not the consult
    print(f"\nconsulting: caller hears {energy(on_hold):.3f} RMS, "
          f"{share_near(on_hold, 880):.2f} of it zhangwei")
    assert energy(on_hold) > 0.02 and share_near(on_hold, 880) < 0.2
    assert share_near(await heard(lina_leg, leg, 880), 880) > 0.5  # lina hears zhangwei
    assert share_near(await heard(leg, lina_leg, 660), 660) > 0.5  # and zhangwei lina
    with pytest.raises(VoiceError, match="consulting"):  # not a way to drop the caller
        await app.voice.hangup("zhangwei")

    await app.voice.end_consult("zhangwei", "transfer")
    assert await asyncio.to_thread(leg.wait_state, CallState.ENDED, 5)
    await asyncio.sleep(0.5)
    assert share_near(await heard(call, lina_leg, 660), 660) > 0.5  # caller hears lina
    assert share_near(await heard(lina_leg, call, 440), 440) > 0.5  # lina hears the caller
    await wait_until(lambda: agent_state(app, "zhangwei") in ("wrap_up", "ready"),
                     what="zhangwei's wrap-up")

    await asyncio.to_thread(call.hangup)
    assert await asyncio.to_thread(lina_leg.wait_state, CallState.ENDED, 5)
    await wait_until(lambda: task_id not in app.voice.calls, what="the engine to forget it")
    events = await steps(app, task_id)
    names = [e.event for e in events]
    assert names.index("CONSULT") < names.index("TRANSFEROUT")
    out = next(e for e in events if e.event == "TRANSFEROUT")
    assert out.data == {"to": "lina", "attended": True} and out.agent == "zhangwei"


async def test_consult_return_then_a_three_way_call(voice_app, phones):
    app, call, leg, lina, task_id = await three_phones(voice_app, phones)
    first = await consult_lina(app, lina, 0)
    back = await app.voice.end_consult("zhangwei", "return")
    assert not back["held"] and back["consult"] is None
    assert await asyncio.to_thread(first.wait_state, CallState.ENDED, 5)
    await asyncio.sleep(0.5)
    assert share_near(await heard(call, leg, 880), 880) > 0.5  # the caller has zhangwei back

    second = await consult_lina(app, lina, 1)
    with pytest.raises(VoiceError):
        await app.voice.hold("zhangwei", False)  # consulting: end the consult first
    view = await app.voice.end_consult("zhangwei", "conference")
    assert view["conference"] and not view["held"]
    await asyncio.sleep(1.0)
    # All three hear each other: each tone reaches both others.
    from_zhangwei = await heard_by([call, second], leg, 880)
    from_lina = await heard_by([call, leg], second, 660)
    from_caller = await heard_by([leg, second], call, 440)
    shares = [share_near(a, f) for group, f in ((from_zhangwei, 880), (from_lina, 660),
                                                  (from_caller, 440)) for a in group]
    print("conference: share of each tone at the two others", [f"{x:.2f}" for x in shares])
    assert all(x > 0.5 for x in shares), shares

    await app.voice.hangup("zhangwei")  # zhangwei leaves; the caller and lina go on
    assert await asyncio.to_thread(leg.wait_state, CallState.ENDED, 5)
    await asyncio.sleep(0.5)
    assert share_near(await heard(call, second, 660), 660) > 0.5
    await wait_until(lambda: agent_state(app, "zhangwei") in ("wrap_up", "ready"),
                     what="zhangwei's wrap-up")
    names = [e.event for e in await steps(app, task_id)]
    wanted = ["CONSULT", "UNHOLD", "CONSULT", "UNHOLD", "CONFERENCE", "HANGUP"]
    assert [n for n in names if n in set(wanted)] == wanted, names
    await asyncio.to_thread(call.hangup)
    assert await asyncio.to_thread(second.wait_state, CallState.ENDED, 5)


async def test_a_consult_to_a_colleague_whose_phone_is_unreachable_is_refused(voice_app, phones):
    """Asterisk says lina's phone is gone: the consult says so at once, instead of
    putting the caller on hold for a Dial that cannot reach her; the call goes on."""
    app, call, leg, lina, _ = await three_phones(voice_app, phones)
    app.agents.login("lina", device="1002", ready=False)
    await wait_until(lambda: app.agents.sessions["lina"].device_ok, what="lina's phone")
    lina.stop()  # unregistered: Asterisk's device state goes UNAVAILABLE
    await wait_until(lambda: not app.agents.sessions["lina"].device_ok, what="lina's phone gone")
    with pytest.raises(VoiceError, match="lina's phone cannot take a call now"):
        await app.voice.consult("zhangwei", to_agent="lina")
    state = app.voice.controls.state("zhangwei")
    assert not state["held"] and state["consult"] is None
    assert share_near(await heard(call, leg, 880), 880) > 0.5  # still talking
