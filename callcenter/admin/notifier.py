"""What the admin console receives live.

``config.changed`` ``{file, actor, summary, change_id}`` is published by
``AdminService.apply`` after an edit is in force; the WebSocket hub forwards it to
admins (their change list refreshes, and another admin editing the same file is
told the file changed under them).
"""

from __future__ import annotations

ADMIN_TOPICS = frozenset({"config.changed"})
