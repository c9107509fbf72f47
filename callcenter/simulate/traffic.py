"""``callcenter simulate``: agents and callers on real SIP phones, against a running engine.

Agents' phones (pyVoIP, auto-answering) register with their extensions and
the agents log in through the consoles' REST API, as a person at a console
would. Callers are lines of the carrier trunk (from 127.0.0.2, each with a number of
its own, as a PSTN caller: the shipped configuration has no caller account), dial the
400 number, pick their way through the IVR with in-band DTMF, talk (a tone) for a
while and hang up.
A newcomer watching the wallboard sees calls queue, ring and connect.

Before a call is placed, the callers' keys walk the IVR as the engine would now
(``why_no_agent``): outside business hours the run says which queue or schedule is
closed until when, and places nothing unless told to (``--ignore-hours``; an engine
started with ``--demo --always-open`` keeps every queue open).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from pyVoIP.VoIP import CallState

from callcenter.config.models import Agent, Config
from callcenter.simulate.phone import Call, Phone, dtmf, silence, tone
from ivr.runner import run_ivr

log = logging.getLogger(__name__)
_ports = itertools.count(0)


@dataclass
class Plan:
    agents: int = 3
    calls: int = 10
    rate: float = 0.5  # calls per second
    talk: float = 10.0  # seconds
    patience: float = 120.0  # a caller hangs up after waiting this long
    digits: str = "21"  # English, then sales
    url: str = "http://127.0.0.1:8080"
    sip_host: str = "127.0.0.1"
    base_port: int = 40000
    seed: int = 1


@dataclass
class Outcome:
    placed: int = 0
    answered_by_ivr: int = 0
    reached_agent: int = 0
    gave_up: int = 0
    failures: list[str] = field(default_factory=list)


CARRIER = "127.0.0.2"  # the trunk's address in asterisk/conf/pjsip.conf (type=identify)


def _phone(plan: Plan, config: Config, username: str, password: str,
           on_incoming: Callable[[Call], None] | None = None, *,
           trunk: bool = False) -> Phone:
    slot = next(_ports)
    rtp_low = plan.base_port + 100 + slot * 20
    return Phone(server=plan.sip_host, port=config.callcenter.asterisk.sip_port,
                 username=username, password=password, sip_port=plan.base_port + slot,
                 rtp_low=rtp_low, rtp_high=rtp_low + 19, auto_answer=on_incoming is not None,
                 on_incoming=on_incoming, trunk=trunk,
                 **({"my_ip": CARRIER} if trunk else {}))


def simulated_agents(config: Config, count: int) -> list[Agent]:
    """Agents who can take calls and have what a simulation needs to log them in."""
    usable = [a for a in config.agents
              if a.role == "agent" and a.extension and a.sip_password and a.password
              and a.capacity.voice > 0]
    return usable[:count]


async def _console_login(session: aiohttp.ClientSession, plan: Plan, agent: Agent) -> None:
    headers = {"Origin": plan.url}
    async with session.post(f"{plan.url}/api/auth/login", headers=headers, json={
            "username": agent.id, "password": agent.password.get_secret_value()}) as reply:
        if reply.status != 200:
            raise RuntimeError(f"{agent.id} cannot log in to the console: {reply.status}")
        if (await reply.json())["must_change_password"]:
            raise RuntimeError(f"{agent.id} must choose a password before working: simulate "
                               "uses the passwords in agents.yaml, which only a loopback "
                               "demo (`callcenter run --demo`, as `make run` does) accepts")
    async with session.post(f"{plan.url}/api/agent/login", headers=headers,
                            json={"device": agent.extension, "ready": True}) as reply:
        if reply.status != 200:
            raise RuntimeError(f"{agent.id} cannot log in to {agent.extension}: "
                               f"{await reply.text()}")


async def _caller(plan: Plan, phone: Phone, number: str, outcome: Outcome,
                  rng: random.Random) -> None:
    """Dial, choose in the IVR, then talk until the agent ends the call (or give up)."""
    call = await asyncio.to_thread(phone.call, number)
    outcome.placed += 1
    if not await asyncio.to_thread(call.wait_state, CallState.ANSWERED, 15):
        outcome.failures.append("not answered by the IVR")
        return
    outcome.answered_by_ivr += 1
    await asyncio.sleep(1.0)
    keys = b"".join(dtmf(digit) + silence(1.2) for digit in plan.digits)
    await asyncio.to_thread(call.play, keys)
    voice = tone(rng.choice([330, 440, 550]), 1.0)
    deadline = asyncio.get_running_loop().time() + plan.patience + plan.talk
    while call.state == CallState.ANSWERED and asyncio.get_running_loop().time() < deadline:
        await asyncio.to_thread(call.play, voice)
    if call.state == CallState.ANSWERED:
        outcome.gave_up += 1
        await asyncio.to_thread(call.hangup)


def _agent_ends_calls_after(talk: float, outcome: Outcome):
    def on_answered(call: Call) -> None:  # runs on pyVoIP's thread for this call
        outcome.reached_agent += 1
        if call.wait_state(CallState.ENDED, talk):
            return
        call.hangup()

    return on_answered


class _Keys:
    """The simulated callers' keys, for a walk of the IVR without a call."""

    def __init__(self, digits: str) -> None:
        self.digits = digits

    async def play(self, prompt: Any, language: str) -> None:
        return None

    async def ask(self, prompt: Any, language: str, max_digits: int,
                  timeout: float) -> str | None:
        taken, self.digits = self.digits[:max_digits], self.digits[max_digits:]
        return taken or None


async def why_no_agent(config: Config, digits: str, now: datetime) -> str | None:
    """Why callers pressing ``digits`` would reach no agent at ``now``; None: they queue."""
    number = config.callcenter.asterisk.inbound_numbers[0]
    outcome = await run_ivr(config.ivr, config.queues, _Keys(digits), now, dialled=number)
    if outcome.route == "queue":
        return None
    closed = [(f"queue {qid}", q.business_hours) for qid, q in config.queues.items()
              if q.business_hours is not None and not q.business_hours.is_open(now)]
    closed += [(f"schedule {sid}", hours) for sid, hours in config.ivr.schedules.items()
               if not hours.is_open(now)]
    opens = []
    for name, hours in closed:
        when = hours.next_open(now)
        opens.append(f"{name} opens {when:%a %Y-%m-%d %H:%M} ({hours.timezone})" if when
                     else f"{name} stays closed for 30 days")
    why = f"calls to {number} with keys {digits} end without an agent now ({outcome.reason})"
    return f"{why}; closed: {', '.join(opens)}" if opens else why


async def simulate(config: Config, plan: Plan) -> Outcome:
    number = config.callcenter.asterisk.inbound_numbers[0]
    rng = random.Random(plan.seed)
    outcome = Outcome()
    agents = simulated_agents(config, plan.agents)
    hang_up_after_talk = _agent_ends_calls_after(plan.talk, outcome)
    agent_phones = [_phone(plan, config, a.extension or "",
                           a.sip_password.get_secret_value() if a.sip_password else "",
                           on_incoming=hang_up_after_talk) for a in agents]
    caller_phones: list[Phone] = []
    sessions: list[aiohttp.ClientSession] = []
    try:
        for phone in agent_phones:
            await asyncio.to_thread(phone.start)
        for agent in agents:
            # unsafe=True: keep cookies from an IP-address host such as 127.0.0.1
            session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            sessions.append(session)
            await _console_login(session, plan, agent)
            log.info("simulate.agent_ready", extra={"agent": agent.id})
        calls = []
        for n in range(plan.calls):
            phone = _phone(plan, config, f"139{plan.seed % 1000:03d}{n:05d}", "-", trunk=True)
            await asyncio.to_thread(phone.start)
            caller_phones.append(phone)
            calls.append(asyncio.create_task(_caller(plan, phone, number, outcome, rng)))
            await asyncio.sleep(1 / plan.rate if plan.rate > 0 else 0)
        await asyncio.gather(*calls)
    finally:
        for session in sessions:
            await session.close()
        for phone in agent_phones + caller_phones:
            await asyncio.to_thread(phone.stop)
    return outcome
