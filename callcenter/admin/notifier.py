"""What the admin console receives live.

``config.changed`` ``{file, actor, summary, change_id}`` is published by
``AdminService.apply`` after an edit is in force; the WebSocket hub forwards it to
admins (their change list refreshes, and another admin editing the same file is
told the file changed under them).
"""

from __future__ import annotations

from callcenter.bus import BusEvent, EventBus
from callcenter.storage import ConfigChange
from callcenter.webkit.principal import Principal

ADMIN_TOPICS = frozenset({"config.changed"})


class AdminNotifier:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def config_changed(self, change: ConfigChange) -> None:
        self.bus.publish("config.changed", {"file": change.filename, "actor": change.actor,
                                            "summary": change.summary, "change_id": change.id},
                         at=change.at)


def admins_only(user: Principal, event: BusEvent) -> bool:
    """Who sees admin events on the console WebSocket."""
    return event.topic in ADMIN_TOPICS and user.role == "admin"
