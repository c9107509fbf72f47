"""Chat channels behind one small boundary (``ChatAdapter``); WeChat official account first.

See ``chatbridge/README.md`` for the boundary and what each protocol check does where.
"""

from chatbridge.adapter import (
    CallbackRejected,
    ChannelApiError,
    ChannelTransportError,
    ChatAdapter,
    ChatBridgeError,
    ImageMessage,
    Inbound,
    InboundHandler,
    InboundMessage,
    LocationMessage,
    Media,
    MediaTooLarge,
    MenuClick,
    Scanned,
    SendResult,
    Sent,
    Subscribed,
    TextMessage,
    Unsubscribed,
    UnsupportedMessage,
    VoiceMessage,
    WindowClosed,
    WindowClosedReason,
    mask_id,
)
from chatbridge.dedup import TtlDedup
from chatbridge.schemas import WeChatConfig, WeChatMode
from chatbridge.wechat_adapter import WeChatAdapter
from chatbridge.wechat_api import WeChatApiClient, WeChatApiError
from chatbridge.wechat_callback import WeChatCallback

__all__ = [
    "CallbackRejected",
    "ChannelApiError",
    "ChannelTransportError",
    "ChatAdapter",
    "ChatBridgeError",
    "ImageMessage",
    "Inbound",
    "InboundHandler",
    "InboundMessage",
    "LocationMessage",
    "Media",
    "MediaTooLarge",
    "MenuClick",
    "Scanned",
    "SendResult",
    "Sent",
    "Subscribed",
    "TextMessage",
    "TtlDedup",
    "Unsubscribed",
    "UnsupportedMessage",
    "VoiceMessage",
    "WeChatAdapter",
    "WeChatApiClient",
    "WeChatApiError",
    "WeChatCallback",
    "WeChatConfig",
    "WeChatMode",
    "WindowClosed",
    "WindowClosedReason",
    "mask_id",
]
