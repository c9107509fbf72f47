"""The AMI call recipe: every action the engine sends to Asterisk, as a pure function.

Each function returns the action as a dict for ``AmiLink.action``; none does I/O.
Channels are addressed by uniqueid (names change on masquerades).

How a queued call meets its agent (Asterisk 22):

1. the caller waits in ``cc-hold`` (music, announcements);
2. ``offer``: ``Setvar CC_DIAL`` then ``Redirect`` the caller to ``cc-offer``,
   where the caller's own channel runs ``Dial`` (music while it rings);
3. the agent answers; the pre-bridge handler sends ``CallCenterAnswer`` and
   waits; the engine answers with ``verdict``: on accept it first sets
   ``CC_CONNECTED`` on the caller, then ``CC_VERDICT=accept`` on the agent's leg,
   (and ``CC_RECORD``, where the dialplan starts MixMonitor) and Dial bridges the
   two; on refuse the leg is dropped and the caller goes back to hold in their place;
4. when the bridge ends, the dialplan hangs the caller up (``cc-end``); with the survey
   on and the agent gone first, it asks the caller for a rating before (``cc-survey``).

The agent's leg is never yanked out of a dialplan and no channel is bridged
that the engine did not confirm: a caller meets at most one agent per offer.
"""

from __future__ import annotations

from typing import Any

from callcenter.voice import dialplan

Action = dict[str, Any]


def setvar(uid: str, name: str, value: str) -> Action:
    return {"Action": "Setvar", "Channel": uid, "Variable": name, "Value": value}


def getvar(uid: str, name: str) -> Action:
    return {"Action": "Getvar", "Channel": uid, "Variable": name}


def redirect(uid: str, context: str, exten: str = "s", priority: int = 1) -> Action:
    return {"Action": "Redirect", "Channel": uid, "Context": context, "Exten": exten,
            "Priority": str(priority)}


def hangup(uid: str, cause: int = 16) -> Action:
    return {"Action": "Hangup", "Channel": uid, "Cause": str(cause)}


def dial_string(endpoints: list[str]) -> str:
    """``PJSIP/a&PJSIP/b``: one device, or several at once for ``ring_all``."""
    return "&".join(f"PJSIP/{endpoint}" for endpoint in endpoints)


def offer(caller_uid: str, endpoints: list[str]) -> list[Action]:
    """Ring the agents' devices from the caller's channel (steps 2 of the recipe)."""
    return [setvar(caller_uid, dialplan.DIAL, dial_string(endpoints)),
            redirect(caller_uid, dialplan.OFFER)]


def verdict(caller_uid: str, agent_uid: str, accept: bool,
            record: str | None = None, legs: bool = False) -> list[Action]:
    """The engine's answer to an agent's answer (step 3): CC_CONNECTED goes first.

    ``record``: the path (Asterisk's view, without ``.wav``) the accepted call is
    recorded to, by MixMonitor on the agent's leg (with ``legs``, one file per
    direction too). Started from the dialplan, it needs no AMI ``system`` rights.
    """
    if not accept:
        return [setvar(agent_uid, dialplan.VERDICT, dialplan.VERDICT_REFUSE)]
    recording = [] if record is None else [
        setvar(agent_uid, dialplan.RECORD, record),
        setvar(agent_uid, dialplan.RECORD_LEGS, "yes" if legs else "no")]
    return [setvar(caller_uid, dialplan.CONNECTED, "yes"), *recording,
            setvar(agent_uid, dialplan.VERDICT, dialplan.VERDICT_ACCEPT)]


def back_to_hold(caller_uid: str) -> list[Action]:
    """Blind transfer: the caller leaves the agent's bridge for the holding loop."""
    return [setvar(caller_uid, dialplan.CONNECTED, ""), redirect(caller_uid, dialplan.HOLD)]


def leave_queue(caller_uid: str, reason: str) -> list[Action]:
    return [setvar(caller_uid, dialplan.EXIT_REASON, reason),
            redirect(caller_uid, dialplan.EXIT)]


def announce(caller_uid: str, position: str, minutes: str) -> list[Action]:
    """What the holding loop says next: the suffixes of its counted phrases' files."""
    return [setvar(caller_uid, dialplan.POSITION, position),
            setvar(caller_uid, dialplan.EWT_MINUTES, minutes)]


def originate_callback(*, endpoint: str, leg_uid: str, task_id: str, offer_id: str,
                       caller_id: str, customer_dial: str, ring_seconds: int,
                       timeout_ms: int) -> Action:
    """A callback rings the agent first; on answer the dialplan dials the customer (whose
    channel inherits the task id, to say when they answer)."""
    return {"Action": "Originate", "Channel": f"PJSIP/{endpoint}", "ChannelId": leg_uid,
            "Timeout": str(timeout_ms), "Async": "true", "CallerID": caller_id,
            "Context": dialplan.CALLBACK, "Exten": "s", "Priority": "1",
            "Variable": [f"{dialplan.TASK}={task_id}", f"__{dialplan.LEG_TASK}={task_id}",
                         f"{dialplan.OFFER_ID}={offer_id}",
                         f"{dialplan.CALLBACK_DIAL}={customer_dial}",
                         f"{dialplan.CALLBACK_RING}={ring_seconds}"]}


def originate_spy(*, endpoint: str, uid: str, target_channel: str, options: str,
                  caller_id: str) -> Action:
    return {"Action": "Originate", "Channel": f"PJSIP/{endpoint}", "ChannelId": uid,
            "Context": dialplan.SPY, "Exten": "s", "Priority": "1", "Async": "true",
            "Timeout": "30000", "CallerID": caller_id,
            "Variable": [f"{dialplan.SPY_TARGET}={target_channel}",
                         f"{dialplan.SPY_OPTIONS}={options}"]}


def spy_mode(uid: str, options: str) -> list[Action]:
    """Switch a running spy's mode without ringing the supervisor again."""
    return [setvar(uid, dialplan.SPY_OPTIONS, options), redirect(uid, dialplan.SPY)]


CORE_SHOW_CHANNELS: Action = {"Action": "CoreShowChannels"}
DEVICE_STATE_LIST: Action = {"Action": "DeviceStateList"}


# ---- call controls (callcenter/voice/controls.py) -----------------------------------
# A connected call is the caller's Dial (cc-offer) bridged to the agent's leg. Hold takes
# both out of that bridge at once (Redirect with ExtraChannel, which Asterisk carries out
# for two bridged channels together); resume has the caller's channel pull the agent's leg
# into a new bridge from the dialplan (Bridge with "x": when either side leaves, both end,
# as after Dial). Mute is a dialplan function set with Setvar. All need only "call".


def hold(caller_uid: str, agent_uid: str) -> Action:
    """The caller to music on hold, the agent's leg to silence, together."""
    return {"Action": "Redirect", "Channel": caller_uid, "Context": dialplan.HELD,
            "Exten": "s", "Priority": "1", "ExtraChannel": agent_uid,
            "ExtraContext": dialplan.AGENT_HELD, "ExtraExten": "s", "ExtraPriority": "1"}


def resume(caller_uid: str, agent_uid: str) -> list[Action]:
    """The held caller takes the agent's leg back into a bridge."""
    return [setvar(caller_uid, dialplan.PEER, agent_uid), redirect(caller_uid, dialplan.RESUME)]


def mute(agent_uid: str, on: bool) -> Action:
    """Drop (or pass again) what the agent says; the agent still hears the caller."""
    return setvar(agent_uid, dialplan.MUTE, "on" if on else "off")


def transfer_out(caller_uid: str, dial: str) -> list[Action]:
    """Blind transfer through the trunk: the caller's channel dials ``dial`` and the
    agent's leg is left (Dial's bridge, or the resume bridge, hangs it up)."""
    return [setvar(caller_uid, dialplan.CONNECTED, ""),
            setvar(caller_uid, dialplan.TRANSFER_DIAL, dial),
            redirect(caller_uid, dialplan.TRANSFER_OUT)]


def originate_dialout(*, endpoint: str, leg_uid: str, task_id: str, shown: str,
                      customer_dial: str, caller_id: str, ring_seconds: int,
                      record: tuple[str, bool] | None) -> Action:
    """Dial-out rings the agent's phone first (showing ``shown``, the masked number); on
    answer the dialplan dials the customer with our caller ID (``cc-dialout``) and, with
    ``record`` (path without ``.wav``, one file per direction too), records the call
    once the number answers."""
    path, legs = record or ("", False)
    return {"Action": "Originate", "Channel": f"PJSIP/{endpoint}", "ChannelId": leg_uid,
            "Timeout": "30000", "Async": "true", "CallerID": f'"{shown}" <{shown}>',
            "Context": dialplan.DIALOUT, "Exten": "s", "Priority": "1",
            "Variable": [f"{dialplan.TASK}={task_id}", f"__{dialplan.LEG_TASK}={task_id}",
                         f"{dialplan.DIALOUT_DIAL}={customer_dial}",
                         f"{dialplan.DIALOUT_CID}={caller_id}",
                         f"{dialplan.DIALOUT_RING}={ring_seconds}",
                         f"{dialplan.RECORD}={path}",
                         f"{dialplan.RECORD_LEGS}={'yes' if legs else 'no'}"]}


def consult(caller_uid: str, agent_uid: str, dial: str, room: str) -> list[Action]:
    """Attended transfer, step 1: the caller to music, the agent's leg dials ``dial`` (the
    party it reaches inherits the conference's name, should it come to that)."""
    return [setvar(agent_uid, dialplan.CONSULT_DIAL, dial),
            setvar(agent_uid, f"__{dialplan.CONFERENCE_ROOM}", room),
            setvar(caller_uid, dialplan.CONFERENCE_ROOM, room),
            {"Action": "Redirect", "Channel": caller_uid, "Context": dialplan.HELD,
             "Exten": "s", "Priority": "1", "ExtraChannel": agent_uid,
             "ExtraContext": dialplan.CONSULT, "ExtraExten": "s", "ExtraPriority": "1"}]


def complete_consult(caller_uid: str, agent_uid: str, consulted_uid: str) -> list[Action]:
    """The caller takes the consulted party (out of the agent's consult call); the agent's
    leg then hangs up by itself."""
    return [setvar(agent_uid, dialplan.CONSULT_DONE, "yes"),
            setvar(caller_uid, dialplan.CONNECTED, ""),
            setvar(caller_uid, dialplan.PEER, consulted_uid),
            redirect(caller_uid, dialplan.RESUME)]


def conference(caller_uid: str, agent_uid: str, consulted_uid: str) -> list[Action]:
    """All three into the call's conference: the agent and the consulted party together."""
    return [redirect(caller_uid, dialplan.CONFERENCE),
            {"Action": "Redirect", "Channel": agent_uid, "Context": dialplan.CONFERENCE,
             "Exten": "s", "Priority": "1", "ExtraChannel": consulted_uid,
             "ExtraContext": dialplan.CONFERENCE, "ExtraExten": "s", "ExtraPriority": "1"}]
