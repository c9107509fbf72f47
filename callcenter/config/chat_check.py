"""Cross-file checks of the chat settings: the queues ``chat:`` names must exist in
queues.yaml and take chats (an error: the chat would have nowhere to wait)."""

from __future__ import annotations

from typing import Any

from .issues import ConfigIssue
from .models import CallcenterConfig, QueuesConfig
from .source import DataPath, Source
from .translate import allowed_list, did_you_mean

Checked = tuple[Source, Any] | None


def chat_checks(cc: Checked, queues: Checked) -> list[ConfigIssue]:
    if not cc or not queues:
        return []
    src, config = cc
    chat = config.chat if isinstance(config, CallcenterConfig) else None
    if chat is None:
        return []
    qc: QueuesConfig = queues[1]
    refs: list[tuple[DataPath, str]] = []
    if chat.web.enabled:
        refs += [(("chat", "web", "topics", i, "queue"), t.queue)
                 for i, t in enumerate(chat.web.topics)]
    if chat.wechat.enabled:
        refs.append((("chat", "wechat", "queue"), chat.wechat.queue))
        refs += [(("chat", "wechat", "menu_queues", key), queue)
                 for key, queue in chat.wechat.menu_queues.items()]
    chat_queues = sorted(q for q, queue in qc.queues.items() if queue.chat)
    out = []
    for path, queue in refs:
        if queue not in qc.queues:
            out.append(src.issue(path, f"queue {queue!r} does not exist; chat queues: "
                                       f"{allowed_list(chat_queues)}"
                                       + did_you_mean(queue, chat_queues)))
        elif not qc.queues[queue].chat:
            out.append(src.issue(path, f"queue {queue!r} takes no chats (its channels are "
                                       f"{', '.join(qc.queues[queue].channels)}); chat "
                                       f"queues: {allowed_list(chat_queues)}"))
    return out
