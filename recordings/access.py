"""Who may read a call's speech (transcript, summary, inspection), and who sees numbers.

The policy, in one place:

* an **agent** reads the calls they handled, with phone, ID, account and order
  numbers masked (last four digits kept): they need the gist, not the numbers, and
  a masked copy is what their wrap-up and screen-pops show anyway;
* a **supervisor** reads the calls of agents in the teams they supervise (and calls
  no agent took, in queues they watch), unmasked: reviewing a flag or a complaint
  means checking the order or account number that was said;
* an **admin** reads every call, unmasked.

Searching by a number would tell a masked reader what the mask hides, so readers who
see masked text may not search with four or more digits in a row.
"""

from __future__ import annotations

import re

from callcenter.config.models import Config
from callcenter.storage import Interaction
from callcenter.webkit.principal import (
    UNMASKED_ROLES,
    Principal,
    may_supervise,
    sees_numbers,
    visible_queue_ids,
)

__all__ = ["UNMASKED_ROLES", "may_read", "readable_filter", "refuse_number_search",
           "sees_numbers"]

# Who sees whole numbers is the consoles' one rule (``callcenter.webkit.principal``).
_NUMBER_PROBE = re.compile(r"\d{4,}")


def may_read(principal: Principal, interaction: Interaction, config: Config) -> bool:
    if principal.role == "admin":
        return True
    if principal.role == "agent":
        return principal.agent_id is not None and interaction.agent_id == principal.agent_id
    if principal.role == "supervisor":
        if interaction.agent_id is not None:
            return may_supervise(principal, interaction.agent_id, config)
        return (interaction.queue or "") in visible_queue_ids(principal, config)
    return False


def readable_filter(principal: Principal,
                    config: Config) -> tuple[list[str] | None, list[str] | None]:
    """(queues, agent ids) a search is limited to; None means any."""
    if principal.role == "admin":
        return None, None
    if principal.role == "agent":
        return None, [principal.agent_id] if principal.agent_id else []
    if principal.role == "supervisor":
        return None, [a.id for a in config.agents if may_supervise(principal, a.id, config)]
    return [], []


def refuse_number_search(principal: Principal, query: str) -> str | None:
    """Why this reader may not search for ``query``, or None."""
    if not sees_numbers(principal) and _NUMBER_PROBE.search(query):
        return "searching by four or more digits would reveal masked numbers"
    return None
