"""Bad report requests answer 422 naming the parameter and what is wrong with it."""

from __future__ import annotations

import pytest

CASES = [
    ("from=2025-13-01", "from", "is not a date"),
    ("from=2025-11-15&to=2025-11-14", "to", "ends before it starts"),
    ("from=2024-01-01&to=2025-11-14", "to", "at most 400 days"),
    ("from=2025-10-01&to=2025-11-14&interval=15m", "interval", "more than 3000"),
    ("interval=fortnight", "interval", ""),
    ("by=team", "by", ""),
    ("channel=fax", "channel", ""),
    ("queues=sales,nope", "queues", "no queue nope"),
    ("by=agent&agents=nobody", "agents", "no agent nobody"),
    ("lang=fr", "lang", ""),
    ("colour=red", "colour", ""),
]


@pytest.mark.parametrize(("query", "field", "says"), CASES)
async def test_a_bad_report_request_names_its_parameter(web_stack, query, field, says):
    client = await web_stack.client("admin")
    for path in ("/api/reports", "/api/reports/export.csv", "/api/reports/export.xlsx"):
        async with client.get(f"{path}?{query}") as response:
            assert response.status == 422, (path, query, await response.text())
            body = await response.json()
        [detail] = body["details"]
        assert detail["loc"][-1] == field, (path, body)
        assert says in detail["msg"], (path, body)
