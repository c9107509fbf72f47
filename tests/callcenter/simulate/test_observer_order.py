"""The load harness's fairness rule: who joined a queue first is dialled first."""

from __future__ import annotations

from callcenter.simulate.observer import Caller, out_of_order


def caller(uid: str, arrived: float, held: float, dialled: float, *,
           standby: float | None = None) -> Caller:
    return Caller(uid=uid, arrived=arrived, queue="q1", held=held, first_dial=dialled,
                  standby_at=standby, agents={"a"})


def test_a_quicker_ivr_gets_ahead_of_a_slower_one_who_called_a_moment_earlier():
    slow = caller("slow", arrived=0.0, held=2.0, dialled=5.0)
    quick = caller("quick", arrived=0.1, held=1.0, dialled=3.0)
    assert len(out_of_order([slow, quick], tolerance=0.5)) == 0


def test_a_caller_already_waiting_is_never_overtaken():
    first = caller("first", arrived=0.0, held=1.0, dialled=5.0)
    second = caller("second", arrived=0.5, held=3.0, dialled=3.5)
    assert len(out_of_order([first, second], tolerance=0.5)) == 1
    assert len(out_of_order([first, second], tolerance=2.5)) == 0


def test_a_caller_who_waited_for_the_engine_keeps_the_time_they_called():
    standby = caller("standby", arrived=0.05, held=10.0, dialled=12.0, standby=0.06)
    others = [caller("a", arrived=0.0, held=2.0, dialled=5.0),
              caller("b", arrived=0.1, held=2.5, dialled=3.0)]
    assert len(out_of_order([standby, *others], tolerance=0.5)) == 2


def test_holds_a_moment_apart_may_be_queued_in_either_order():
    # The engine queued "a" by FastAGI first; Asterisk's threads showed b's hold 30 ms
    # before a's. One agent freed at 5.0, the next at 5.9.
    a = caller("a", arrived=0.0, held=1.03, dialled=5.0)
    b = caller("b", arrived=0.1, held=1.0, dialled=5.9)
    assert out_of_order([a, b], tolerance=0.5) == []
    assert len(out_of_order([a, b], tolerance=0.5, hold_lag=0.01)) == 1


def test_a_hold_is_seen_late_after_the_engine_queued_the_caller():
    # CI, after an Asterisk restart: the engine queued "late_seen" 7 ms before "prompt";
    # Asterisk, busy with re-registrations, showed late_seen's hold 0.77 s after that.
    prompt = caller("prompt", arrived=10.0, held=10.75, dialled=16.70)
    late_seen = caller("late_seen", arrived=10.1, held=11.52, dialled=11.52)
    assert out_of_order([prompt, late_seen]) == []
    # A caller whose join is their call (they waited for the engine) is not seen late.
    woken = caller("woken", arrived=11.2, held=20.0, dialled=11.9, standby=11.3)
    assert len(out_of_order([prompt, woken])) == 1


def test_a_caller_whose_ivr_the_engine_died_in_is_overtaken_only_once_waiting():
    # "cut" called at 9.46; the engine died in its IVR at 10 and was back at 18. "early"
    # held and was dialled at 9.87, before the crash: "cut" could not have been.
    cut = caller("cut", arrived=9.46, held=18.5, dialled=18.66, standby=10.0)
    early = caller("early", arrived=9.33, held=9.86, dialled=9.87)
    assert out_of_order([cut, early], tolerance=0.5) == []
    # Once "cut" waits, a later joiner is not dialled first.
    later = caller("later", arrived=13.0, held=13.5, dialled=18.55)
    assert len(out_of_order([cut, later], tolerance=0.05)) == 1
