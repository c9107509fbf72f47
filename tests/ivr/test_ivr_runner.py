"""The IVR walk with a scripted caller: menus, retries, language, collection, hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcenter.config.models import IvrConfig, Queue
from ivr.runner import CallerHungUp, run_ivr

# Monday 2026-11-23 10:00 in Shanghai is 02:00 UTC; 22:00 there is 14:00 UTC.
OPEN = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CLOSED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


class ScriptedCaller:
    """Presses what the script says, one answer per question; None is silence."""

    def __init__(self, *answers: str | None, hang_up_after: int | None = None) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, int]] = []
        self.played: list[tuple[str, str]] = []
        self.hang_up_after = hang_up_after

    async def play(self, prompt, language):
        self.played.append((prompt.en or prompt.zh or prompt.sound, language))

    async def ask(self, prompt, language, max_digits, timeout):
        if self.hang_up_after is not None and len(self.asked) >= self.hang_up_after:
            raise CallerHungUp("gone")
        self.asked.append((prompt.en or prompt.sound, language, max_digits))
        return self.answers.pop(0) if self.answers else None


def queues(hours: bool = False) -> dict[str, Queue]:
    base = {"name": {"en": "Sales", "zh": "销售"}, "skills": {"sales": 1}, "priority": 5}
    support = {"name": {"en": "Support"}, "skills": {"support": 2}}
    if hours:
        base["business_hours"] = {
            "timezone": "Asia/Shanghai",
            "weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "closed_action": {"prompt": {"en": "We are closed"}},
        }
    return {"sales": Queue.model_validate(base), "support": Queue.model_validate(support)}


def tree(**overrides) -> IvrConfig:
    nodes = {
        "lang": {"type": "language", "prompt": {"en": "Language"},
                 "options": {"1": "zh", "2": "en"}, "next": "main"},
        "main": {"type": "menu", "prompt": {"en": "Main menu"},
                 "options": {"1": "to_sales", "2": "order", "0": "to_support"},
                 "retries": 2, "invalid": "sorry", "timeout_action": "to_support"},
        "order": {"type": "collect", "prompt": {"en": "Order number"},
                  "variable": "order_number", "min_digits": 4, "max_digits": 8,
                  "next": "to_support"},
        "to_sales": {"type": "queue", "queue": "sales", "label": {"en": "Buy", "zh": "购买"}},
        "to_support": {"type": "queue", "queue": "support", "skills": {"orders": 1}},
        "sorry": {"type": "playback", "prompt": {"en": "Sorry"}},
    }
    nodes.update(overrides)
    return IvrConfig.model_validate({"entry": "lang", "nodes": nodes})


async def test_language_then_menu_routes_to_the_queue_with_its_label():
    caller = ScriptedCaller("2", "1")
    outcome = await run_ivr(tree(), queues(), caller, OPEN)
    assert outcome.route == "queue"
    assert outcome.queue == "sales"
    assert outcome.language == "en"
    assert outcome.priority == 5
    assert outcome.skills == {}  # the queue's own skills are the engine's to add
    assert outcome.label == {"en": "Buy", "zh": "购买"}
    assert [(c.kind, c.pressed, c.value) for c in outcome.choices] == [
        ("language", "2", "en"), ("menu", "1", "to_sales")]
    assert [a[1] for a in caller.asked] == ["zh", "en"]  # the menu speaks the chosen language


async def test_wrong_keys_are_retried_then_the_invalid_path_plays():
    caller = ScriptedCaller("1", "7", "8", "9")
    outcome = await run_ivr(tree(), queues(), caller, OPEN)
    assert outcome.route == "hangup"
    assert len([a for a in caller.asked if a[0] == "Main menu"]) == 3
    assert caller.played == [("Sorry", "zh")]
    assert outcome.choices[-1].value == "invalid"


async def test_silence_goes_to_the_timeout_action_the_operator():
    caller = ScriptedCaller("1", None, None, None)
    outcome = await run_ivr(tree(), queues(), caller, OPEN)
    assert outcome.queue == "support"
    assert outcome.skills == {"orders": 1}
    assert outcome.label == {"en": "Support"}  # no node label: the queue's name


async def test_a_wrong_key_then_a_right_one_is_accepted():
    outcome = await run_ivr(tree(), queues(), ScriptedCaller("1", "5", "1"), OPEN)
    assert outcome.queue == "sales"


async def test_collected_order_number_travels_with_the_call():
    caller = ScriptedCaller("2", "2", "12", "123456")
    outcome = await run_ivr(tree(), queues(), caller, OPEN)
    assert outcome.variables == {"order_number": "123456"}
    assert caller.asked[2] == ("Order number", "en", 8)
    assert outcome.queue == "support"


async def test_language_silence_keeps_the_default():
    outcome = await run_ivr(tree(), queues(), ScriptedCaller(None, None, "1"), OPEN)
    assert outcome.language == "zh"
    assert outcome.queue == "sales"


async def test_a_closed_queue_plays_its_message_and_hangs_up():
    caller = ScriptedCaller("2", "1")
    outcome = await run_ivr(tree(), queues(hours=True), caller, CLOSED)
    assert outcome.route == "hangup"
    assert caller.played == [("We are closed", "en")]
    outcome = await run_ivr(tree(), queues(hours=True), ScriptedCaller("2", "1"), OPEN)
    assert outcome.queue == "sales"


async def test_hours_node_branches_on_the_queue_schedule():
    ivr = tree(lang={"type": "hours", "queue": "sales", "open": "main", "closed": "sorry"})
    caller = ScriptedCaller()
    outcome = await run_ivr(ivr, queues(hours=True), caller, CLOSED)
    assert caller.played == [("Sorry", "zh")] and outcome.route == "hangup"


async def test_a_loop_in_the_tree_is_cut():
    ivr = tree(sorry={"type": "playback", "prompt": {"en": "Sorry"}, "next": "lang"},
               main={"type": "menu", "prompt": {"en": "Main menu"}, "options": {"1": "sorry"},
                     "retries": 0, "invalid": "sorry", "timeout_action": "sorry"})
    outcome = await run_ivr(ivr, queues(), ScriptedCaller(), OPEN, max_steps=20)
    assert outcome.route == "hangup" and "loop" in outcome.reason


async def test_caller_hanging_up_mid_menu_propagates():
    with pytest.raises(CallerHungUp):
        await run_ivr(tree(), queues(), ScriptedCaller("2", hang_up_after=1), OPEN)
