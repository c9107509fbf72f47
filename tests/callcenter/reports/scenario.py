"""A known evening of calls and chats, driven through the real engine across midnight in
Asia/Shanghai, with every time exact (the stack's clock is frozen and set per step).

Friday 2025-11-14, local time. lina serves sales, wangfang support; both sign in ready
at 23:30. Customers: A (C1, then the chat H1), B (C2), C (C5); C3 and C4 are anonymous.

=========  =====================================================================
23:41:00   C1 sales call, offered to lina; 23:41:12 answered (wait 12); 23:44:12 the
           caller hangs up (talk 180); 23:44:20 lina ends wrap-up (8 s)
23:44:30   C1 rated 4 (voice survey)
23:45:00   lina not ready (meeting) until 23:50:10
23:50:00   C2 sales call waits; 23:50:10 offered to lina; 23:50:24 answered (wait 24)
23:52:00   C3 sales call waits; 23:52:03 hangs up (wait 3: a short abandon)
23:55:00   C4 sales call waits; 23:55:40 hangs up (wait 40)
23:56:00   callback CB1 asked for in sales (later served)
23:58:00   C5 support call, offered to wangfang; 23:58:10 answered (wait 10);
           on hold 23:59:00 - 23:59:30
00:01:00   wangfang transfers C5 to sales (talk 170); 00:01:15 her wrap-up ends (15 s)
00:02:25   lina ends C2 (talk 721); 00:02:30 her wrap-up ends (5 s) and C5 is offered
           to her; 00:02:35 C2 rated 2
00:02:40   lina answers C5 (wait 100 in sales); 00:05:40 the caller hangs up (talk
           180); 00:05:49 wrap-up ends (9 s)
00:03:00   H1 web chat of customer A in support, offered to wangfang; 00:03:05
           accepted (wait 5); 00:08:05 she ends it (talk 300); 00:08:20 wrap-up
           ends (15 s); 00:08:30 rated 5 in the widget
00:04:00   callback CB2 asked for in sales (later failed)
00:10:00   lina not ready (break) until 00:14:00
00:20:00   now
=========  =====================================================================
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import acd
from callcenter.agents.services import AgentService
from tests.support.webstack import WebStack

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """``HH:MM:SS`` on the evening of 2025-11-14 (from 23:00) or the night after."""
    day = 14 if text >= "12" else 15
    return datetime.fromisoformat(f"2025-11-{day}T{text}").replace(tzinfo=ZONE).timestamp()


class Scenario:
    def __init__(self, stack: WebStack) -> None:
        self.stack = stack
        self.routing = stack.deps.routing
        self.store = stack.deps.store
        self.agents = stack.need(AgentService)
        self.tasks: dict[str, str] = {}

    async def step(self, when: str) -> None:
        await self.routing.flush()
        self.stack.clock.freeze(at(when))

    async def call(self, name: str, queue: str, customer: int | None) -> None:
        number = None
        if customer is not None:
            person = await self.store.get_customer(customer)
            assert person is not None
            number = next(i.value for i in person.identities if i.kind == "phone")
        interaction = await self.store.create_interaction(
            "voice", medium="pstn", customer_id=customer, queue=queue,
            arrived_at=self.stack.clock(), caller_masked=number)
        self.tasks[name] = interaction.id
        assert self.routing.arrive(acd.Task(id=interaction.id, channel="voice",
                                            queue=queue)) is None
        await self.routing.flush()

    async def answer(self, agent: str, name: str) -> None:
        view = self.routing.agent(agent)
        assert view is not None
        task = self.tasks[name]
        offer = view.offers[view.offered_tasks.index(task)]
        assert self.routing.accept(offer)
        await self.routing.flush()

    async def run(self) -> dict[str, str]:
        store, routing = self.store, self.routing
        await self.step("23:30:00")
        a = await self.stack.customer("A", phone="13800000001")
        b = await self.stack.customer("B", phone="13800000002")
        c = await self.stack.customer("C", phone="13800000003")
        self.agents.login("lina", "1002", ready=True)
        self.agents.login("wangfang", "1003", ready=True)
        await self.step("23:41:00")
        await self.call("C1", "sales", a)
        await self.step("23:41:12")
        await self.answer("lina", "C1")
        await self.step("23:44:12")
        routing.end(self.tasks["C1"], "caller")
        await self.step("23:44:20")
        routing.finish_wrapup("lina", self.tasks["C1"])
        await self.step("23:44:30")
        assert await store.record_csat(self.tasks["C1"], 4, source="voice_survey",
                                       at=at("23:44:30"))
        await self.step("23:45:00")
        self.agents.set_state("lina", "not_ready", "meeting")
        await self.step("23:50:00")
        await self.call("C2", "sales", b)
        await self.step("23:50:10")
        self.agents.set_state("lina", "ready")
        await self.step("23:50:24")
        await self.answer("lina", "C2")
        await self.step("23:52:00")
        await self.call("C3", "sales", None)
        await self.step("23:52:03")
        routing.cancel(self.tasks["C3"])
        await self.step("23:55:00")
        await self.call("C4", "sales", None)
        await self.step("23:55:40")
        routing.cancel(self.tasks["C4"])
        await self.step("23:56:00")
        cb1 = await store.add_callback("13800000009", queue="sales", requested_at=at("23:56:00"))
        await self.step("23:58:00")
        await self.call("C5", "support", c)
        await self.step("23:58:10")
        await self.answer("wangfang", "C5")
        await store.log_event("HOLD", at=at("23:59:00"), interaction_id=self.tasks["C5"],
                              queue="support", agent="wangfang")
        await store.log_event("UNHOLD", at=at("23:59:30"), interaction_id=self.tasks["C5"],
                              queue="support", agent="wangfang")
        await self.step("00:01:00")
        assert routing.transfer(self.tasks["C5"], queue="sales") is None
        await self.step("00:01:15")
        routing.finish_wrapup("wangfang", self.tasks["C5"])
        await self.step("00:02:25")
        routing.end(self.tasks["C2"], "agent")
        await self.step("00:02:30")
        routing.finish_wrapup("lina", self.tasks["C2"])
        await self.step("00:02:35")
        assert await store.record_csat(self.tasks["C2"], 2, source="voice_survey",
                                       at=at("00:02:35"))
        await self.step("00:02:40")
        await self.answer("lina", "C5")
        await self.step("00:03:00")
        self.tasks["H1"] = await self.stack.chat_arrives("support", a)
        await self.step("00:03:05")
        await self.stack.accept_chat("wangfang", self.tasks["H1"])
        await self.step("00:04:00")
        cb2 = await store.add_callback("13800000008", queue="sales", requested_at=at("00:04:00"))
        await self.step("00:05:40")
        routing.end(self.tasks["C5"], "caller")
        await self.step("00:05:49")
        routing.finish_wrapup("lina", self.tasks["C5"])
        await self.step("00:08:05")
        self.stack.end_chat(self.tasks["H1"], "wangfang")
        await self.step("00:08:20")
        routing.finish_wrapup("wangfang", self.tasks["H1"])
        await self.step("00:08:30")
        assert await store.record_csat(self.tasks["H1"], 5, source="widget", at=at("00:08:30"))
        await self.step("00:10:00")
        self.agents.set_state("lina", "not_ready", "break")
        await self.step("00:14:00")
        self.agents.set_state("lina", "ready")
        await self.step("00:20:00")
        await store.update_callback(cb1.id, status="done")
        await store.update_callback(cb2.id, status="failed")
        await routing.flush()
        return self.tasks
