"""Who is who in the access tests: one agent and one supervisor per team, and an admin.

The test stack (``tests.support.webstack``) has zhaolei supervise the north team only.
The sample has no second supervisor, so ``add_personas`` adds sunli, a console user who
supervises east and takes no calls (an account an admin makes, not an agents.yaml
person). A persona without a suffix is of the north team, ``*_other_team`` of east:

=====================  ==========  =====  =========================================
persona                user        team   queues watched (queues.yaml's teams)
=====================  ==========  =====  =========================================
agent                  wangfang    north  (support, billing, vip skills)
agent_other_team       zhangwei    east   (sales skills)
supervisor             zhaolei     north  support, vip
supervisor_other_team  sunli       east   sales, support
admin                  admin       -      all
=====================  ==========  =====  =========================================
"""

from __future__ import annotations

import aiohttp

from tests.support.webstack import PASSWORDS, WebStack

OTHER_SUPERVISOR = "sunli"
OTHER_SUPERVISOR_PASSWORD = "sunli-own-password-9"
LOGINS: dict[str, str | None] = {
    "anonymous": None,
    "agent": "wangfang",
    "agent_other_team": "zhangwei",
    "supervisor": "zhaolei",
    "supervisor_other_team": OTHER_SUPERVISOR,
    "admin": "admin",
}
PERSONAS = tuple(LOGINS)


async def add_personas(stack: WebStack) -> None:
    """Add sunli, supervisor of the east team (with a password of their own)."""
    await stack.deps.store.upsert_user(OTHER_SUPERVISOR, display_name="孙丽 Sun Li",
                                       role="supervisor", teams=["east"], agent_id=None,
                                       password=OTHER_SUPERVISOR_PASSWORD)


async def client(stack: WebStack, persona: str) -> aiohttp.ClientSession:
    """A new HTTP client logged in as ``persona`` (anonymous: not logged in)."""
    username = LOGINS[persona]
    return await stack.client(username, PASSWORDS.get(username or "", OTHER_SUPERVISOR_PASSWORD))


async def clients(stack: WebStack) -> dict[str, aiohttp.ClientSession]:
    """A logged-in HTTP client per persona (adds sunli first)."""
    await add_personas(stack)
    return {persona: await client(stack, persona) for persona in LOGINS}
