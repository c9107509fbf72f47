"""``/metrics`` parses with prometheus_client's own parser, carries every family the
issue names, and moves with the engine."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from callcenter.agents.services import AgentService

FAMILIES = {
    "callcenter_queue_waiting": "gauge",
    "callcenter_queue_longest_wait_seconds": "gauge",
    "callcenter_agents": "gauge",
    "callcenter_offers": "counter",
    "callcenter_answers": "counter",
    "callcenter_abandons": "counter",
    "callcenter_dispatch_latency_seconds": "histogram",
    "callcenter_ami_up": "gauge",
    "callcenter_ami_reconnects": "counter",
    "callcenter_event_loop_lag_seconds": "histogram",
    "callcenter_transcription_backlog": "gauge",
    "callcenter_websocket_sessions": "gauge",
}


async def scrape(client) -> dict[str, dict]:
    async with client.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    out = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = {"type": family.type, "samples": {
            (s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}}
    return out


def value(families: dict, family: str, sample: str | None = None, **labels: str) -> float:
    return families[family]["samples"][(sample or family, tuple(sorted(labels.items())))]


async def test_metrics_families_move_with_the_engine(web_stack):
    stack = web_stack
    client = await stack.client()  # loopback, no token: allowed
    families = await scrape(client)
    for name, kind in FAMILIES.items():
        assert families[name]["type"] == kind, name
    assert value(families, "callcenter_ami_up") == 0  # no Asterisk in this stack
    assert value(families, "callcenter_queue_waiting", queue="support") == 0
    assert value(families, "callcenter_websocket_sessions", kind="console") == 0

    supervisor = await stack.client("zhaolei")
    socket = await supervisor.ws_connect("/api/ws")
    task = await stack.chat_arrives("support", None)
    stack.clock.advance(7)
    families = await scrape(client)
    assert value(families, "callcenter_websocket_sessions", kind="console") == 1
    assert value(families, "callcenter_queue_waiting", queue="support") == 1
    assert value(families, "callcenter_queue_longest_wait_seconds", queue="support") >= 7
    assert value(families, "callcenter_agents", state="logged_out", channel="chat") >= 6

    stack.need(AgentService).login("wangfang", "1003", ready=True)
    await stack.deps.routing.flush()
    await stack.accept_chat("wangfang", task)
    await stack.deps.routing.flush()
    families = await scrape(client)
    assert value(families, "callcenter_offers", "callcenter_offers_total", queue="support",
                 channel="chat") == 1
    assert value(families, "callcenter_answers", "callcenter_answers_total", queue="support",
                 channel="chat") == 1
    dispatched = value(families, "callcenter_dispatch_latency_seconds",
                       "callcenter_dispatch_latency_seconds_count")
    assert dispatched == 1
    assert value(families, "callcenter_dispatch_latency_seconds",
                 "callcenter_dispatch_latency_seconds_sum") < 1.0
    assert value(families, "callcenter_agents", state="busy", channel="chat") == 1
    assert value(families, "callcenter_queue_waiting", queue="support") == 0
    await socket.close()
