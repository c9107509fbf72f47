from __future__ import annotations

import pytest

from .scenario import Scenario


@pytest.fixture
async def evening(web_stack):
    """The stack after the scenario of ``scenario.py``, and its tasks by name."""
    tasks = await Scenario(web_stack).run()
    return web_stack, tasks
