"""The keypress survey after a call (reports.csat.voice_survey), on the real Asterisk.

The agent hangs up; the caller stays on the line, hears the question in the language
they chose in the IVR (the audio heard is matched against both renderings), and a key
1-5 is stored as the call's CSAT rating. Any other key stores nothing. With the survey
off, the caller's call ends with the agent's.
"""

from __future__ import annotations

import asyncio
import time
import wave

import numpy as np
import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import Call, Phone, dtmf, silence
from callcenter.voice.phrases import phrase
from tests.support.voice import agent_state, edit_yaml, history, make_config, queued, wait_until

pytestmark = pytest.mark.asterisk

LANGUAGE_KEY = {"zh": "1", "en": "2"}
ENVELOPE = 0.05  # seconds per point of a loudness envelope


def survey(on: bool):
    def change(data: dict) -> None:
        data.setdefault("reports", {}).setdefault("csat", {})["voice_survey"] = on
    return change


async def start(voice_app, phones, tmp_path, asterisk, *, on: bool):
    edit_yaml(make_config(tmp_path, asterisk) / "callcenter.yaml", survey(on))
    app = await voice_app()
    agent_phone = await phones("1001", "dev-sip-1001", auto_answer=True)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login("zhangwei", device="1001", ready=True)
    return app, agent_phone, await phones("caller", "caller")


async def dial_sales(app, caller: Phone, language: str) -> tuple[str, Call]:
    """Dial sales in ``language``; returns the queued task and the caller's call."""
    call = await asyncio.to_thread(caller.call, "4008001234")
    assert await asyncio.to_thread(call.wait_state, CallState.ANSWERED, 10), call.state
    await asyncio.sleep(1.0)
    await asyncio.to_thread(call.play, dtmf(LANGUAGE_KEY[language]) + silence(1.2) + dtmf("1"))
    (task_id,) = await queued(app)
    return task_id, call


async def talk(app, caller: Phone, agent_phone: Phone, language: str) -> tuple[str, Call, Call]:
    """Dial sales in ``language``; the agent answers. Returns the task and both calls."""
    rung = len(agent_phone.incoming)
    task_id, call = await dial_sales(app, caller, language)
    await wait_until(lambda: len(agent_phone.incoming) > rung, timeout=15,
                     what="the agent's phone to ring")
    agent_call = agent_phone.incoming[-1]
    assert await asyncio.to_thread(agent_call.wait_state, CallState.ANSWERED, 5)
    await wait_until(lambda: task_id in app.voice.calls and app.voice.calls[task_id].bridged,
                     what="the bridge")
    return task_id, call, agent_call


def envelope(samples: np.ndarray, rate: int = 8000) -> np.ndarray:
    step = int(rate * ENVELOPE)
    frames = samples[: len(samples) // step * step].reshape(-1, step)
    return np.sqrt(np.mean(frames**2, axis=1))


def rendered(app, name: str, language: str) -> np.ndarray:
    """The loudness envelope of a phrase as rendered for Asterisk."""
    paths = app.voice.deps.paths
    path = paths.on_host(f"{paths.prompts_dir}/{phrase(name, language).stem}.wav")
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return envelope(pcm.astype(np.float64) / 32768)


def likeness(heard: bytes, reference: np.ndarray) -> float:
    """The best normalised correlation of the heard envelope with the reference's, over
    every offset (the prompt starts some time after listening began)."""
    got = envelope((np.frombuffer(heard, dtype=np.uint8).astype(np.float64) - 128) / 128)
    ref = (reference - reference.mean()) / (reference.std() or 1)
    best = 0.0
    for lag in range(0, max(1, len(got) - len(ref) + 1)):
        window = got[lag:lag + len(ref)]
        if len(window) < len(ref):
            break
        std = window.std()
        if std > 0:
            best = max(best, float(np.mean((window - window.mean()) / std * ref)))
    return best


async def hear_the_question(app, call: Call, agent_call: Call, language: str) -> None:
    """The agent hangs up; the caller, still on the line, hears the survey's question in
    ``language`` (its audio is closer to that rendering than to the other language's)."""
    longest = max(len(rendered(app, "survey_ask", lang)) for lang in LANGUAGE_KEY) * ENVELOPE
    heard, _ = await asyncio.gather(asyncio.to_thread(call.listen, longest + 2.5),
                                    asyncio.to_thread(agent_call.hangup))
    assert call.state == CallState.ANSWERED, "the caller was let go with the agent"
    scores = {lang: likeness(heard, rendered(app, "survey_ask", lang)) for lang in LANGUAGE_KEY}
    other = next(lang for lang in LANGUAGE_KEY if lang != language)
    assert scores[language] > 0.6 and scores[language] > scores[other] + 0.1, scores


async def test_the_caller_rates_the_call_after_the_agent_hangs_up_in_their_language(
        voice_app, phones, tmp_path, asterisk):
    app, agent_phone, caller = await start(voice_app, phones, tmp_path, asterisk, on=True)

    # A Mandarin caller presses 4: stored as the call's CSAT, thanked, then let go.
    task_id, call, agent_call = await talk(app, caller, agent_phone, "zh")
    await hear_the_question(app, call, agent_call, "zh")
    await wait_until(lambda: task_id not in app.voice.calls, what="the call to end")
    await asyncio.to_thread(call.play, dtmf("4"))

    async def rated() -> list:
        return [r for r in await app.store.csat_between(0, time.time() + 60)
                if r.interaction_id == task_id]

    deadline = time.monotonic() + 10
    while not await rated() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    [rating] = await rated()
    assert (rating.score, rating.source, rating.channel, rating.agent_id, rating.queue) == \
        (4, "voice_survey", "voice", "zhangwei", "sales")
    assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 15), "not let go"
    record = await app.store.get_interaction(task_id)
    assert record.outcome == "answered" and record.ended_at <= rating.at

    # An English caller, put on hold and taken back (a bridge of its own), hears English;
    # a key outside 1-5 is no rating.
    await wait_until(lambda: agent_state(app, "zhangwei") == "ready", timeout=10,
                     what="ready after wrap-up")
    _second, call, agent_call = await talk(app, caller, agent_phone, "en")
    assert (await app.voice.hold("zhangwei", True))["held"]
    assert not (await app.voice.hold("zhangwei", False))["held"]
    await hear_the_question(app, call, agent_call, "en")
    await asyncio.to_thread(call.play, dtmf("9"))
    assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 15), "not let go"
    assert [r.interaction_id for r in await app.store.csat_between(0, time.time() + 60)] == \
        [task_id]


async def test_without_the_survey_the_caller_is_let_go_with_the_agent(
        voice_app, phones, tmp_path, asterisk):
    app, agent_phone, caller = await start(voice_app, phones, tmp_path, asterisk, on=False)
    task_id, call, agent_call = await talk(app, caller, agent_phone, "zh")
    await asyncio.to_thread(agent_call.hangup)
    assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 5), "still on the line"
    await wait_until(lambda: task_id not in app.voice.calls, what="the call to end")
    assert await app.store.csat_between(0, time.time() + 60) == []



async def answering_agent(app, phones, answer) -> Phone:
    phone = await phones("1001", "dev-sip-1001", on_incoming=answer)
    await wait_until(lambda: app.link.is_up, what="AMI link")
    app.agents.login("zhangwei", device="1001", ready=True)
    return phone


async def test_an_agent_who_hangs_up_before_the_bridge_lets_the_caller_go(
        voice_app, phones, tmp_path, asterisk):
    """The agent answers and hangs up while the engine's accept is still on its way (the
    recording's rows are slow to store): the dialplan, not told yet, sends the caller back
    to hold, but the call is over, answered and ended by the agent. The caller is let go,
    not left on hold and not offered a second time."""
    edit_yaml(make_config(tmp_path, asterisk) / "callcenter.yaml", survey(False))
    app = await voice_app()
    recorder = app.voice.offers.recorder
    plan = recorder.plan

    async def slow_plan(call):
        await asyncio.sleep(1.0)
        return await plan(call)

    recorder.plan = slow_plan

    def answer_then_hang_up(agent_call: Call) -> None:
        agent_call.voip.answer()
        time.sleep(0.3)
        agent_call.hangup()

    agent_phone = await answering_agent(app, phones, answer_then_hang_up)
    task_id, call = await dial_sales(app, await phones("caller", "caller"), "zh")
    assert await asyncio.to_thread(call.wait_state, CallState.ENDED, 10), "left on hold"
    await wait_until(lambda: task_id not in app.voice.calls, what="the call to end")
    await app.routing.flush()
    record = await app.store.get_interaction(task_id)
    assert (record.outcome, record.agent_id) == ("answered", "zhangwei")
    assert len(agent_phone.incoming) == 1, "offered again"


async def test_a_phone_that_answers_and_drops_at_once_is_not_rung_in_a_loop(
        voice_app, phones, tmp_path, asterisk):
    """A phone that answers and drops the call at once. Asterisk usually sees the hang-up
    before the engine is asked: the agent did not take the call (a reject), the caller
    keeps their place and a colleague serves them. Should the engine's accept win the
    race, the call is over as in the test above. Either way the phone rings once."""
    edit_yaml(make_config(tmp_path, asterisk) / "callcenter.yaml", survey(False))
    app = await voice_app()

    def answer_and_drop(agent_call: Call) -> None:
        agent_call.voip.answer()
        agent_call.hangup()

    agent_phone = await answering_agent(app, phones, answer_and_drop)
    task_id, call = await dial_sales(app, await phones("caller", "caller"), "zh")
    await wait_until(lambda: agent_phone.incoming, timeout=15, what="the agent's phone to ring")
    await asyncio.sleep(3)
    assert len(agent_phone.incoming) == 1, "rung again and again"
    events = await history(app, task_id)
    if call.state == CallState.ENDED:  # the accept won: answered, ended by the agent
        assert "CONNECT" in events and (await app.store.get_interaction(task_id)).outcome \
            == "answered", events
        return
    assert events == ["ENTERQUEUE", "OFFER", "REJECT"], events
    colleague = await phones("1002", "dev-sip-1002", auto_answer=True)
    app.agents.login("lina", device="1002", ready=True)
    await wait_until(lambda: task_id in app.voice.calls and app.voice.calls[task_id].bridged,
                     timeout=15, what="the colleague to take the caller")
    assert app.voice.calls[task_id].agent_id == "lina" and colleague.incoming
    await asyncio.to_thread(call.hangup)
