"""callcenter.yaml's ``reports`` and ``metrics`` settings each do what their comment says;
a bad value is refused naming file, line and column."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.config import ConfigError, load_config
from callcenter.reports.metrics import MetricsService, NotAllowed
from callcenter.reports.services import ReportService
from callcenter.webkit.principal import Principal
from tests.support.webstack import SAMPLES

ADMIN = Principal("admin", "admin", None, None)
DAY = 86400.0


async def fcr_and_csat(stack) -> dict:
    """A customer served, then back two days later; two ratings, 3 and 4 (of 5)."""
    store = stack.deps.store
    service = stack.need(ReportService)
    day = _day(service, stack.clock() - 3 * DAY)
    start = datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=service.zone()).timestamp()
    customer = await stack.customer("Repeat", phone="13900000001")
    first = await store.create_interaction("voice", customer_id=customer, queue="support",
                                           arrived_at=start)
    await store.create_interaction("voice", customer_id=customer, queue="support",
                                   arrived_at=start + 2 * DAY)
    await store.log_events([
        {"event": "ENTERQUEUE", "at": start, "interaction_id": first.id, "queue": "support",
         "data": {"channel": "voice"}},
        {"event": "CONNECT", "at": start + 10, "interaction_id": first.id, "queue": "support",
         "agent": "wangfang", "data": {"wait": 10}}])
    await store.record_csat(first.id, 3, source="voice_survey", at=start + 100)
    await store.record_csat(first.id, 4, source="widget", at=start + 200)
    request = service.request(start=day, end=day, interval="day", by="queue")
    return (await service.report(ADMIN, request, "en"))["total"]["period"]


def _day(service: ReportService, t: float) -> str:
    return datetime.fromtimestamp(t, service.zone()).date().isoformat()


async def test_first_contact_days_and_satisfied_from(make_stack):
    seven = await fcr_and_csat(await make_stack())  # the sample: 7 days, satisfied from 4
    assert (seven["fcr_contacts"], seven["fcr_resolved"]) == (1, 0)  # back within 7 days
    assert (seven["csat_count"], seven["csat_pct"]) == (2, 0.5)  # only the 4 is satisfied

    def settings(data: dict) -> None:
        data["reports"]["first_contact_days"] = 1
        data["reports"]["satisfied_from"] = 3

    one = await fcr_and_csat(await make_stack(callcenter=settings))
    assert (one["fcr_contacts"], one["fcr_resolved"]) == (1, 1)  # not back within a day
    assert one["csat_pct"] == 1.0


async def test_metrics_token(make_stack):
    def token(data: dict) -> None:
        data["metrics"]["token"] = "metrics-token-for-tests"

    stack = await make_stack(callcenter=token)
    client = await stack.client()
    async with client.get("/metrics") as response:
        assert response.status == 403  # loopback, but a token is set: it is needed
    headers = {"Authorization": "Bearer metrics-token-for-tests"}
    async with client.get("/metrics", headers=headers) as response:
        assert response.status == 200
        names = {f.name for f in text_string_to_metric_families(await response.text())}
    assert "callcenter_queue_waiting" in names
    async with client.get("/metrics", headers={"Authorization": "Bearer wrong"}) as response:
        assert response.status == 403


async def test_metrics_without_a_token_is_for_this_machine_only(web_stack):
    service = web_stack.need(MetricsService)
    service.check("127.0.0.1", None)
    service.check("::1", None)
    for remote in ("192.0.2.10", "2001:db8::1", None):
        with pytest.raises(NotAllowed):
            service.check(remote, None)


@pytest.mark.parametrize(("old", "new", "where"), [
    ("  first_contact_days: 7 ", "  first_contact_days: 0 ", "reports.first_contact_days"),
    ("  satisfied_from: 4 ", "  satisfied_from: 6 ", "reports.satisfied_from"),
    ("metrics:\n  token:", "metrics:\n  tokn:", "metrics.tokn")])
def test_bad_values_name_file_line_and_column(tmp_path: Path, old: str, new: str,
                                              where: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(SAMPLES, config)
    path = config / "callcenter.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    line = text[:text.index(old) + len(old.split(":")[0])].count("\n") + 1 + (
        1 if old.startswith("metrics") else 0)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    [issue] = info.value.issues
    assert (issue.filename, issue.path, issue.line) == ("callcenter.yaml", where, line)
    assert issue.column is not None and issue.column > 1
    assert f"callcenter.yaml:{line}:{issue.column}" in str(issue)
