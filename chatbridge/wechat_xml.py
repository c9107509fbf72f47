"""Parsing WeChat callback XML into the channel-neutral message dataclasses.

Callback bodies come from the internet: they are size-checked, must be UTF-8, and are
parsed with defusedxml with DTDs, entities and external references all refused (no
billion laughs, no XXE). Duplicate fields are refused too, since a second ``Content``
would make "which one did we read" ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from chatbridge.adapter import (
    CallbackRejected,
    ImageMessage,
    InboundMessage,
    LocationMessage,
    MenuClick,
    Scanned,
    Subscribed,
    TextMessage,
    Unsubscribed,
    UnsupportedMessage,
    VoiceMessage,
)

__all__ = ["CHANNEL", "XmlRejected", "dedup_key", "parse_fields", "parse_message"]

CHANNEL = "wechat"
_MAX_DEPTH = 8  # WeChat's deepest (SendPicsInfo/PicList/item/PicMd5Sum) is 4


class XmlRejected(CallbackRejected):
    status = 400


def parse_fields(body: bytes, *, max_bytes: int) -> dict[str, str]:
    """The ``<xml>`` element's fields as a flat dict; nested ones as ``Parent/Child``,
    repeated nested ones as ``Parent/Child[1]``, ``Parent/Child[2]``..."""
    if len(body) > max_bytes:
        raise XmlRejected(f"body larger than {max_bytes} bytes", status=413)
    if not body.strip():
        raise XmlRejected("empty body")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlRejected("body is not valid UTF-8") from exc
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlRejected(f"forbidden XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError) as exc:
        raise XmlRejected("malformed XML") from exc
    if root.tag != "xml":
        raise XmlRejected("root element is not <xml>")
    fields: dict[str, str] = {}
    _flatten(root, "", fields, 1)
    return fields


def _flatten(element: Element, prefix: str, into: dict[str, str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise XmlRejected("XML nested too deeply")
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = f"{prefix}{child.tag}"
        if name in into:
            if depth == 1:  # a field we read: refuse rather than guess which one counts
                raise XmlRejected(f"duplicate field {name}")
            index = 1
            while f"{name}[{index}]" in into:
                index += 1
            name = f"{name}[{index}]"  # repeated items of a list (PicList/item)
        if len(child):
            into[name] = ""
            _flatten(child, f"{name}/", into, depth + 1)
        else:
            into[name] = (child.text or "").strip()


def dedup_key(fields: Mapping[str, str]) -> str:
    """Stable across WeChat's retries: MsgId for messages, sender + CreateTime for events.

    The event name is part of the key so two different events of one customer in the
    same second are not mistaken for a retry.
    """
    account = fields.get("ToUserName", "")
    if fields.get("MsgId"):
        return f"{CHANNEL}:{account}:msg:{fields['MsgId']}"
    event = fields.get("Event", "") or fields.get("MsgType", "")
    return (f"{CHANNEL}:{account}:evt:{fields.get('FromUserName', '')}:"
            f"{fields.get('CreateTime', '')}:{event.lower()}")


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise XmlRejected(f"missing field {name}")
    return value


def _float(fields: Mapping[str, str], name: str) -> float:
    try:
        value = float(_required(fields, name))
    except ValueError as exc:
        raise XmlRejected(f"field {name} is not a number") from exc
    if not math.isfinite(value):
        raise XmlRejected(f"field {name} is not a finite number")
    return value


def parse_message(fields: Mapping[str, str]) -> InboundMessage:
    """The typed message or event for a callback's (decrypted) fields."""
    account = _required(fields, "ToUserName")
    sender = _required(fields, "FromUserName")
    created = _required(fields, "CreateTime")
    if not created.isdigit() or len(created) > 12:
        raise XmlRejected("field CreateTime is not a timestamp")
    msg_type = _required(fields, "MsgType").lower()
    base = {
        "channel": CHANNEL,
        "account": account,
        "sender": sender,
        "created_at": int(created),
        "dedup_key": dedup_key(fields),
        "message_id": fields.get("MsgId") or None,
        "raw": dict(fields),
    }
    if msg_type == "text":
        return TextMessage(**base, text=fields.get("Content", ""))
    if msg_type == "image":
        return ImageMessage(**base, media_id=_required(fields, "MediaId"),
                            pic_url=fields.get("PicUrl") or None)
    if msg_type == "voice":
        return VoiceMessage(**base, media_id=_required(fields, "MediaId"),
                            format=fields.get("Format") or None,
                            recognition=fields.get("Recognition") or None)
    if msg_type == "location":
        scale = fields.get("Scale", "")
        return LocationMessage(**base, latitude=_float(fields, "Location_X"),
                               longitude=_float(fields, "Location_Y"),
                               scale=int(scale) if scale.isdigit() else None,
                               label=fields.get("Label", ""))
    if msg_type == "event":
        event = _required(fields, "Event")
        name = event.lower()
        key = fields.get("EventKey") or None
        ticket = fields.get("Ticket") or None
        if name == "subscribe":
            return Subscribed(**base, event_key=key, ticket=ticket)
        if name == "unsubscribe":
            return Unsubscribed(**base)
        if name == "click":
            return MenuClick(**base, event_key=key or "")
        if name == "scan":
            return Scanned(**base, event_key=key or "", ticket=ticket)
        return UnsupportedMessage(**base, msg_type=msg_type, event=event)
    return UnsupportedMessage(**base, msg_type=msg_type)
