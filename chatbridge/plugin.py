"""Builds the chat feature: the web widget and WeChat as tasks of the one queue engine.

Loads after ``voice`` (a chat whose channel closed can be called back when there is a
telephone). ``chat.wechat.enabled`` is read at start: turning WeChat on or off, or
changing its account, takes a restart (the callback route and the token cache are
built once); every other chat setting applies on reload.
"""

from __future__ import annotations

from aiohttp import web

from callcenter.agents.notifier import OfferNotifier
from callcenter.agents.services import AgentService
from callcenter.config.models import WeChatConfig as WeChatSection
from callcenter.customers.services import CustomerService
from callcenter.features import Dependencies, TopicAudience
from callcenter.voice.services import VoiceService

from . import http
from .accounts import AccountChannel
from .notifier import TOPICS, ChatNotifier
from .queueing import QueueSide
from .schemas import WeChatConfig
from .services import Callbacks, ChatService
from .staff import ChatDesk
from .web_widget import WebWidget
from .wechat_adapter import WeChatAdapter

CALLBACK_PATH = "/chat/wechat"


def wechat_config(section: WeChatSection) -> WeChatConfig:
    """callcenter.yaml's ``chat.wechat`` as the adapter's own (stricter) config."""
    key = section.encoding_aes_key.get_secret_value()
    return WeChatConfig(app_id=section.app_id, app_secret=section.app_secret,
                        token=section.token, encoding_aes_key=key or None,
                        mode=section.mode, api_base=section.api_base)


def load(deps: Dependencies) -> None:
    def voice() -> Callbacks | None:
        return deps.need(VoiceService) if deps.has(VoiceService) else None

    notifier = ChatNotifier(bus=deps.bus, clock=deps.clock)
    service = deps.provide(ChatService(
        store=deps.store, routing=deps.routing, config=deps.config, clock=deps.clock,
        notifier=notifier, offers=deps.need(OfferNotifier), agents=deps.need(AgentService),
        customers=deps.need(CustomerService)))
    queue_side = deps.provide(QueueSide(service, deps.bus,
                                        tick=deps.settings.get("chat_tick", 1.0)))
    deps.routing.attach("chat", queue_side)
    widget = WebWidget(service)
    service.visitors[widget.medium] = widget
    desk = ChatDesk(service, voice)
    notifier.may_watch = desk.may_read
    deps.web.add_api(http.api, desk)
    deps.web.add_api(http.widget_api, widget)
    deps.web.audiences.append(TopicAudience(TOPICS, notifier.audience))
    deps.web.closers.append(widget.close_all)
    deps.web.sockets["widget"] = lambda: sum(len(links) for links in widget.links.values())

    channels: list[AccountChannel] = []
    section = deps.config().callcenter.chat.wechat
    if section.enabled:
        adapter = WeChatAdapter(wechat_config(section))
        chat = deps.config_store
        channel = AccountChannel(service, adapter,
                                 queue=lambda: chat.config.callcenter.chat.wechat.queue,
                                 menu_queues=lambda: dict(
                                     chat.config.callcenter.chat.wechat.menu_queues),
                                 ask_rating=lambda: (
                                     chat.config.callcenter.reports.csat.wechat_rating))
        service.senders[channel.medium] = channel
        channels.append(channel)
        deps.web.routes.append(web.route("*", CALLBACK_PATH, adapter.handle_callback))

    async def start() -> None:
        await queue_side.start()
        for channel in channels:
            await channel.start()

    async def stop() -> None:
        for channel in channels:
            await channel.close()
        await queue_side.stop()

    deps.on_start(start)
    deps.on_stop(stop)
