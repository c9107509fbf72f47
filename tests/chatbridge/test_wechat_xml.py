"""Every inbound message type parsed; hostile or broken XML refused with a reason."""

from __future__ import annotations

import pytest

from chatbridge import (
    ImageMessage,
    LocationMessage,
    MenuClick,
    Scanned,
    Subscribed,
    TextMessage,
    Unsubscribed,
    UnsupportedMessage,
    VoiceMessage,
)
from chatbridge.wechat_xml import XmlRejected, parse_fields, parse_message
from tests.support.wechat_standin import event_xml, image_xml, location_xml, text_xml, voice_xml

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
LIMIT = 64 * 1024


def parse(xml: str | bytes):
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    return parse_message(parse_fields(body, max_bytes=LIMIT))


def test_text() -> None:
    msg = parse(text_xml(OPENID, "你好，我的订单 <#123> & ]]> 呢？", 1234567890123456,
                         create_time=1700000000))
    assert isinstance(msg, TextMessage)
    assert msg.text == "你好，我的订单 <#123> & ]]> 呢？"
    assert (msg.channel, msg.account, msg.sender) == ("wechat", "gh_standin0001", OPENID)
    assert msg.created_at == 1700000000 and msg.message_id == "1234567890123456"
    assert msg.kind == "text"
    assert msg.raw["MsgType"] == "text"


def test_image() -> None:
    msg = parse(image_xml(OPENID, "MEDIA_abc", 42, pic_url="http://mmbiz.qpic.cn/x"))
    assert isinstance(msg, ImageMessage)
    assert (msg.media_id, msg.pic_url, msg.message_id) == ("MEDIA_abc", "http://mmbiz.qpic.cn/x",
                                                           "42")


def test_voice_with_and_without_recognition() -> None:
    msg = parse(voice_xml(OPENID, "MEDIA_v", 43, fmt="amr", recognition="我要退款"))
    assert isinstance(msg, VoiceMessage)
    assert (msg.media_id, msg.format, msg.recognition) == ("MEDIA_v", "amr", "我要退款")
    plain = parse(voice_xml(OPENID, "MEDIA_w", 44, fmt="speex"))
    assert isinstance(plain, VoiceMessage) and plain.recognition is None
    assert plain.format == "speex"


def test_location() -> None:
    msg = parse(location_xml(OPENID, 23.134521, 113.358803, 45, scale=20, label="广州市天河区"))
    assert isinstance(msg, LocationMessage)
    assert (msg.latitude, msg.longitude, msg.scale, msg.label) == (23.134521, 113.358803, 20,
                                                                   "广州市天河区")


def test_events() -> None:
    sub = parse(event_xml(OPENID, "subscribe"))
    assert isinstance(sub, Subscribed) and sub.event_key is None and sub.message_id is None
    scan_sub = parse(event_xml(OPENID, "subscribe", event_key="qrscene_123", ticket="TICKET"))
    assert isinstance(scan_sub, Subscribed)
    assert (scan_sub.event_key, scan_sub.ticket) == ("qrscene_123", "TICKET")
    assert isinstance(parse(event_xml(OPENID, "unsubscribe")), Unsubscribed)
    click = parse(event_xml(OPENID, "CLICK", event_key="MENU_HUMAN_AGENT"))
    assert isinstance(click, MenuClick) and click.event_key == "MENU_HUMAN_AGENT"
    scan = parse(event_xml(OPENID, "SCAN", event_key="123", ticket="T2"))
    assert isinstance(scan, Scanned) and (scan.event_key, scan.ticket) == ("123", "T2")


def test_unmodelled_types_are_passed_on_as_unsupported() -> None:
    view = parse(event_xml(OPENID, "VIEW", event_key="https://example.com"))
    assert isinstance(view, UnsupportedMessage)
    assert (view.msg_type, view.event) == ("event", "VIEW")
    video = parse(text_xml(OPENID, "x", 46).replace("[text]", "[shortvideo]"))
    assert isinstance(video, UnsupportedMessage) and video.msg_type == "shortvideo"


def test_dedup_keys() -> None:
    a = parse(text_xml(OPENID, "a", 99, create_time=1700000000))
    retry = parse(text_xml(OPENID, "a", 99, create_time=1700000000))
    other = parse(text_xml(OPENID, "a", 100, create_time=1700000000))
    assert a.dedup_key == retry.dedup_key != other.dedup_key
    e1 = parse(event_xml(OPENID, "subscribe", create_time=1700000000))
    e1_retry = parse(event_xml(OPENID, "subscribe", create_time=1700000000))
    e2 = parse(event_xml(OPENID, "subscribe", create_time=1700000001))
    e3 = parse(event_xml("o" + "x" * 27, "subscribe", create_time=1700000000))
    e4 = parse(event_xml(OPENID, "CLICK", event_key="K", create_time=1700000000))
    assert e1.dedup_key == e1_retry.dedup_key
    assert len({e1.dedup_key, e2.dedup_key, e3.dedup_key, e4.dedup_key}) == 4


def test_repr_hides_the_openid() -> None:
    msg = parse(text_xml(OPENID, "hi", 1))
    assert OPENID not in repr(msg)
    assert msg.sender_masked == "oUpF…eS6o"


# ------------------------------------------------------------------------ hostile

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol9 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"""

PLAIN_DTD = b"""<!DOCTYPE xml>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x"> %remote;]>
<xml><Content>x</Content></xml>"""


@pytest.mark.parametrize(("body", "reason"), [
    (BILLION_LAUGHS, "forbidden XML construct"),
    (EXTERNAL_ENTITY, "forbidden XML construct"),
    (EXTERNAL_DTD, "forbidden XML construct"),
    (PLAIN_DTD, "forbidden XML construct"),
    (PARAMETER_ENTITY, "forbidden XML construct"),
    (b"<xml><Content>caf\xe9</Content></xml>", "not valid UTF-8"),
    (b"\xff\xfe<\x00x\x00m\x00l\x00/\x00>\x00", "not valid UTF-8"),
    (b"", "empty body"),
    (b"   \n", "empty body"),
    (b"<xml><Content>x</Content>", "malformed XML"),
    (b"<xml><Content>\x01</Content></xml>", "malformed XML"),
    (b"not xml at all", "malformed XML"),
    (b"<root><Content>x</Content></root>", "root element is not <xml>"),
    (b"<xml><Content>a</Content><Content>b</Content></xml>", "duplicate field Content"),
])
def test_hostile_or_broken_xml_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(XmlRejected, match=reason) as info:
        parse_fields(body, max_bytes=LIMIT)
    assert info.value.status == 400


def test_oversized_body_is_refused_before_parsing() -> None:
    body = text_xml(OPENID, "x" * LIMIT, 1).encode()
    with pytest.raises(XmlRejected, match="larger than") as info:
        parse_fields(body, max_bytes=LIMIT)
    assert info.value.status == 413


@pytest.mark.parametrize("depth", [9, 5000])
def test_deep_nesting_is_refused_not_a_crash(depth: int) -> None:
    body = b"<xml>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</xml>"
    with pytest.raises(XmlRejected, match="nested too deeply"):
        parse_fields(body, max_bytes=LIMIT)


def test_nested_fields_wechat_sends_are_kept() -> None:
    body = (b"<xml><SendPicsInfo><Count>2</Count><PicList>"
            b"<item><PicMd5Sum>abc</PicMd5Sum></item><item><PicMd5Sum>def</PicMd5Sum></item>"
            b"</PicList></SendPicsInfo></xml>")
    fields = parse_fields(body, max_bytes=LIMIT)
    assert fields["SendPicsInfo/Count"] == "2"
    assert fields["SendPicsInfo/PicList/item/PicMd5Sum"] == "abc"
    assert fields["SendPicsInfo/PicList/item[1]/PicMd5Sum"] == "def"


@pytest.mark.parametrize(("xml", "reason"), [
    (text_xml(OPENID, "x", 1).replace("<FromUserName><![CDATA[" + OPENID + "]]></FromUserName>",
                                      ""), "missing field FromUserName"),
    (text_xml(OPENID, "x", 1, create_time=1).replace("<CreateTime>1<", "<CreateTime>soon<"),
     "CreateTime is not a timestamp"),
    (text_xml(OPENID, "x", 1).replace("<MsgType><![CDATA[text]]></MsgType>", ""),
     "missing field MsgType"),
    (image_xml(OPENID, "", 1), "missing field MediaId"),
    (location_xml(OPENID, 1.0, 2.0, 1).replace("<Location_X>1.0<", "<Location_X>nan<"),
     "not a finite number"),
    (location_xml(OPENID, 1.0, 2.0, 1).replace("<Location_Y>2.0<", "<Location_Y>east<"),
     "Location_Y is not a number"),
    (event_xml(OPENID, "").replace("<Event><![CDATA[]]></Event>", ""), "missing field Event"),
])
def test_incomplete_messages_are_refused(xml: str, reason: str) -> None:
    with pytest.raises(XmlRejected, match=reason):
        parse(xml)
