"""The contact center's durable store: one SQLite file in WAL mode, accessed through aiosqlite.

``Store`` is the one object the application holds; it is assembled from one mixin per
kind of record, all sharing the connection, lock and transactions of
:class:`~.database.Database`. To find where something is stored:

==========================  ================================================
module                      records
==========================  ================================================
``database.py``             connection, lock, ``transaction()``, schema info
``customers.py``            customers and their identities, merges
``interactions.py``         calls and chats, a customer's history
``messages.py``             chat messages and outbound delivery
``recordings.py``           recordings, transcript segments, summaries
``agents.py``               agent state changes and saved presence
``queue_log.py``            queue events for reports
``users.py``                console users and passwords
``sessions.py``             console sessions (token hashes)
``config_changes.py``       configuration audit trail
``callbacks.py``            callback requests
``speech.py``               transcription backlog, speech results, inspection flags
``chats.py``                chat conversations, their files, undoable customer merges
``reports.py``              CSAT ratings; a period's agent states, callbacks, contacts
==========================  ================================================

Locking, durability and timestamp rules are described in :mod:`.database`. Nothing here
logs phone numbers; rows holding one mask it in ``repr``.
"""

from __future__ import annotations

from .agents import AgentRecords
from .callbacks import CallbackRecords
from .chats import ChatRecords
from .config_changes import ConfigChangeRecords
from .customers import CustomerRecords, normalize_identity
from .database import Database
from .database import default_password_hasher as default_password_hasher
from .interactions import InteractionRecords
from .messages import MessageRecords
from .queue_log import QueueLogRecords
from .recordings import RecordingRecords
from .reports import ReportRecords
from .sessions import DEFAULT_SESSION_TTL, SessionRecords, hash_session_token
from .speech import SpeechRecords
from .users import UserRecords

__all__ = ["DEFAULT_SESSION_TTL", "Store", "hash_session_token", "normalize_identity"]


class Store(
    CustomerRecords,
    InteractionRecords,
    MessageRecords,
    RecordingRecords,
    AgentRecords,
    QueueLogRecords,
    UserRecords,
    SessionRecords,
    ConfigChangeRecords,
    CallbackRecords,
    SpeechRecords,
    ChatRecords,
    ReportRecords,
    Database,
):
    """Async facade over the SQLite database. Create with :meth:`open`, not the constructor.

    Use as ``async with await Store.open(path) as store:`` or call :meth:`close`.
    Methods returning a row return ``None`` when it does not exist; ``update_*`` and
    ``link_*`` methods raise :class:`~callcenter.storage.errors.NotFound` instead.
    """
