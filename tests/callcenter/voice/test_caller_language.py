"""Chinese callers hear Chinese (issue 9): what the dialplan says to a queued caller is in
the language they chose in the IVR, asserted by the files Asterisk played (its log)."""

from __future__ import annotations

import asyncio
import re

import pytest
from pyVoIP.VoIP import CallState

from callcenter.simulate.phone import dtmf
from callcenter.voice.phrases import (
    COUNTED,
    SAY_MAX,
    counted,
    counted_family,
    digit_family,
    phrase,
)
from tests.support.voice import dial_queue, queued, wait_until

pytestmark = pytest.mark.asterisk


def played(asterisk, since: int) -> list[tuple[str, str]]:
    """(channel, file) of every Background/Playback Asterisk ran since ``since``."""
    with asterisk.messages_log.open(errors="replace") as log:
        log.seek(since)
        text = log.read()
    return re.findall(r'(?i:background|playback)\("([^"]+)", "([^"]+)"', text)


async def test_a_mandarin_caller_hears_mandarin_and_an_english_caller_english(
        voice_app, phones, pstn, asterisk):
    app = await voice_app(lambda queues: queues["sales"].update(
        max_wait_seconds=25, callback={"enabled": False}))
    since = asterisk.messages_log.stat().st_size
    mandarin = await pstn("13800138000")
    zh_call = await dial_queue(mandarin, "sales", language="zh")
    (zh_task,) = await queued(app)
    english = await phones("caller", "caller")
    en_call = await dial_queue(english, "sales", language="en")
    await queued(app, 2)
    sounds = app.voice.deps.paths.prompts_dir.rstrip("/")
    zh_position = f"{sounds}/{counted_family('position', 'zh')}-1"
    en_position = f"{sounds}/{counted_family('position', 'en')}-2"

    def heard(file: str) -> list[str]:
        return [channel for channel, name in played(asterisk, since) if name == file]

    await wait_until(lambda: heard(zh_position) and heard(en_position), timeout=20,
                     what="both callers told their place")
    (zh_name,) = set(heard(zh_position))
    (en_name,) = set(heard(en_position))
    assert zh_name != en_name
    assert zh_name in heard(f"{sounds}/{phrase('hold', 'zh').stem}")
    assert en_name in heard(f"{sounds}/{phrase('hold', 'en').stem}")
    # Nothing English reached the Mandarin caller, nor Mandarin the English one.
    for channel, name in played(asterisk, since):
        stem = name.rsplit("/", 1)[-1]
        if name.startswith(sounds):
            assert stem.startswith("zh-" if channel == zh_name else "en-"), (channel, name)
    # The files are whole sentences rendered in each language.
    for language in ("zh", "en"):
        for text in counted("position", language):
            assert asterisk.host_path(f"{sounds}/{text.stem}.wav").exists()

    # Past max_wait_seconds both leave the queue, each told goodbye in their language.
    await wait_until(lambda: heard(f"{sounds}/{phrase('exit', 'zh').stem}")
                     and heard(f"{sounds}/{phrase('exit', 'en').stem}"), timeout=30,
                     what="the goodbye in both languages")
    assert heard(f"{sounds}/{phrase('exit', 'zh').stem}") == [zh_name]
    assert app.voice.calls.get(zh_task) is None or app.voice.calls[zh_task].ended
    for call in (zh_call, en_call):
        if call.state != CallState.ENDED:
            await asyncio.to_thread(call.hangup)


def test_counted_phrases_cover_every_count():
    for name, languages in COUNTED.items():
        for language in languages:
            files = [t.stem for t in counted(name, language)]
            family = counted_family(name, language)
            assert files == [f"{family}-{n}" for n in range(1, SAY_MAX + 1)] + [f"{family}-more"]
    texts = [t.text for t in counted("position", "zh")]
    assert texts[0] == "您是下一位。" and "第2位" in texts[1] and str(SAY_MAX) in texts[-1]


async def test_an_english_caller_goes_first_to_an_agent_who_speaks_english(
        voice_app, phones, pstn):
    """agents.yaml: zhangwei speaks zh and en, lina only zh. With language_first, an
    English caller skips lina (idle longest) for zhangwei; while zhangwei is busy the
    next English caller waits for the any_language step, then lina takes it."""
    def change(queues: dict) -> None:
        queues["sales"].update(language_first=True, callback={"enabled": False},
                               escalation=[{"after_seconds": 8, "any_language": True}])
    app = await voice_app(change)
    lina = await phones("1002", "dev-sip-1002", auto_answer=True)
    await phones("1001", "dev-sip-1001", auto_answer=True)
    app.agents.login("lina", device="1002", ready=True)  # longest idle: first by strategy
    await asyncio.sleep(0.5)
    app.agents.login("zhangwei", device="1001", ready=True)

    first = await dial_queue(await phones("caller", "caller"), "sales", language="en")
    (first_task,) = await queued(app)
    await wait_until(lambda: app.voice.calls[first_task].bridged, timeout=15,
                     what="the first English caller connected")
    assert app.voice.calls[first_task].agent_id == "zhangwei" and not lina.incoming

    second = await dial_queue(await pstn("13800138000"), "sales", language="en")
    second_task = (await queued(app, 2))[1]
    await wait_until(lambda: app.voice.calls[second_task].bridged, timeout=30,
                     what="the second English caller connected")
    assert app.voice.calls[second_task].agent_id == "lina"
    await app.routing.flush()
    events = [e.event for e in await app.store.events_between(
        0, 2e9, interaction_id=second_task)]
    assert events.index("ESCALATE") < events.index("OFFER"), events  # only after the step
    for call in (first, second):
        if call.state != CallState.ENDED:
            await asyncio.to_thread(call.hangup)


async def test_a_mandarin_caller_hears_the_number_to_call_back_in_mandarin(
        voice_app, pstn, asterisk):
    """The callback's number is read back digit by digit in the caller's language."""
    number = "13800138000"
    app = await voice_app(lambda queues: queues["sales"].update(
        announce={"position": False, "expected_wait": True, "interval_seconds": 2},
        callback={"enabled": True, "key": "*"}))
    since = asterisk.messages_log.stat().st_size
    caller = await dial_queue(await pstn(number), "sales", language="zh")
    (task_id,) = await queued(app)
    await wait_until(lambda: app.voice.calls[task_id].holding, what="the caller on hold")
    await asyncio.to_thread(caller.play, dtmf("*"))
    sounds = app.voice.deps.paths.prompts_dir.rstrip("/")
    family = f"{sounds}/{digit_family('zh')}-"

    def said() -> str:
        return "".join(name.removeprefix(family) for _, name in played(asterisk, since)
                       if name.startswith(family))

    await wait_until(lambda: said() == number, timeout=25, what="the number read back")
    # announce.position is off: back on hold, thanked for holding, never told a place
    hold = f"{sounds}/{phrase('hold', 'zh').stem}"
    await wait_until(lambda: any(name == hold for _, name in played(asterisk, since)),
                     timeout=25, what="the hold loop again")
    assert not any("-position-" in name for _, name in played(asterisk, since))
    assert not any(name.startswith(f"{sounds}/{digit_family('en')}")
                   for _, name in played(asterisk, since))
    await asyncio.to_thread(caller.hangup)
