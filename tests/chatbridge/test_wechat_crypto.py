"""Signatures, AES and timestamps, against published vectors and the independent stand-in."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from pydantic import ValidationError

from chatbridge import WeChatConfig
from chatbridge.wechat_crypto import (
    AppIdMismatch,
    DecryptError,
    SignatureError,
    TimestampError,
    WeChatCrypto,
    check_timestamp,
    sha1_signature,
    verify_signature,
)
from chatbridge.wechat_xml import parse_fields
from tests.support.wechat_standin import WeChatStandIn, new_aes_key

# The sample Tencent ships with WXBizMsgCrypt: one text message, sent in compatible
# mode, so the plain fields and their encrypted form come together.
SAMPLE_TOKEN = "spamtest"
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x"
    "6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T"
    "332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciV"
    "GCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6"
    "OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
SAMPLE_PLAIN_FIELDS = {
    "ToUserName": "gh_10f6c3c3ac5a",
    "FromUserName": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
    "CreateTime": "1409735668",
    "MsgType": "text",
    "Content": "abcdteT",
    "MsgId": "6054768590064713728",
}


def sample_crypto(**changes: str) -> WeChatCrypto:
    values = {"token": SAMPLE_TOKEN, "encoding_aes_key": SAMPLE_KEY, "app_id": SAMPLE_APPID}
    values.update(changes)
    return WeChatCrypto(**values)


def test_official_sample_verifies_and_decrypts_to_its_plain_fields() -> None:
    crypto = sample_crypto()
    crypto.verify_msg_signature(SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE,
                                SAMPLE_ENCRYPT)
    assert crypto.msg_signature(SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT) \
        == SAMPLE_MSG_SIGNATURE
    assert parse_fields(crypto.decrypt(SAMPLE_ENCRYPT), max_bytes=65536) == SAMPLE_PLAIN_FIELDS


@pytest.mark.parametrize("change", [
    {"timestamp": "1409735670"}, {"nonce": "1320562133"},
    {"encrypt": SAMPLE_ENCRYPT.replace("hyzA", "hyzB")}, {"token": "spamtesT"},
])
def test_official_sample_signature_breaks_on_any_change(change: dict[str, str]) -> None:
    crypto = sample_crypto(token=change.get("token", SAMPLE_TOKEN))
    with pytest.raises(SignatureError, match="bad msg_signature"):
        crypto.verify_msg_signature(SAMPLE_MSG_SIGNATURE,
                                    change.get("timestamp", SAMPLE_TIMESTAMP),
                                    change.get("nonce", SAMPLE_NONCE),
                                    change.get("encrypt", SAMPLE_ENCRYPT))


def test_official_sample_for_another_appid_is_refused() -> None:
    with pytest.raises(AppIdMismatch):
        sample_crypto(app_id="wx0000000000000000").decrypt(SAMPLE_ENCRYPT)


def test_published_wecom_signature_vector() -> None:
    # WeCom signs the same way; this vector comes from a public test suite.
    encrypt = ("9eOdb3odwWMVTiGRTm+uiVrx3SGwzjGyq6oWu4b2tWC51YbHQasEVD9ZdS6Nx+XBxB2C/qxZ8bl8"
               "+qRBUb8CVg==")
    assert sha1_signature("jF9WQd6XtH7", "1647328566", "1648278214", encrypt) \
        == "0af7077e1d70aed01bf9a6f40b2b52a7536ec807"


def test_signature_is_sha1_of_sorted_parts() -> None:
    parts = ["zeta", "1700000000", "42"]
    expected = hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
    assert sha1_signature(*parts) == expected
    assert sha1_signature(*reversed(parts)) == expected
    verify_signature(expected, *parts)
    verify_signature(expected.upper(), *parts)
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signature(expected[:-1] + ("0" if expected[-1] != "0" else "1"), *parts)
    with pytest.raises(SignatureError, match="missing signature"):
        verify_signature(None, *parts)
    with pytest.raises(SignatureError, match="missing signature"):
        verify_signature("", *parts)


@pytest.mark.parametrize("length", [0, 1, 11, 12, 27, 28, 44, 60, 61, 1000])
def test_round_trip_with_the_independent_standin(length: int) -> None:
    # Lengths around the 32-byte block edges (16 + 4 + n + 18-byte appid).
    standin = WeChatStandIn()
    crypto = WeChatCrypto(standin.token, standin.encoding_aes_key, standin.app_id)
    text = ("消息x" * 400)[:length]
    assert crypto.decrypt(standin.encrypt(text)).decode("utf-8") == text
    assert standin.decrypt(crypto.encrypt(text)) == text


def test_full_block_of_padding_is_handled() -> None:
    crypto = sample_crypto()
    # 16 random + 4 length + message + 18-byte appid = 64: a whole block of padding.
    message = b"m" * (64 - 16 - 4 - len(SAMPLE_APPID))
    encrypted = crypto.encrypt(message, random16=b"r" * 16)
    assert len(base64.b64decode(encrypted)) == 96  # a whole 32-byte pad block
    assert crypto.decrypt(encrypted) == message


def test_encrypted_reply_carries_signature_timestamp_nonce() -> None:
    standin = WeChatStandIn()
    crypto = WeChatCrypto(standin.token, standin.encoding_aes_key, standin.app_id)
    reply = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[已收到]]></Content></xml>"
    envelope = parse_fields(crypto.encrypt_reply(reply, timestamp=1700000000, nonce="777")
                            .encode(), max_bytes=65536)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["TimeStamp"] == "1700000000" and envelope["Nonce"] == "777"
    assert envelope["MsgSignature"] == standin.sign("1700000000", "777", envelope["Encrypt"])
    assert standin.decrypt(envelope["Encrypt"]) == reply


def test_appid_mismatch_is_refused() -> None:
    standin = WeChatStandIn()
    crypto = WeChatCrypto(standin.token, standin.encoding_aes_key, standin.app_id)
    with pytest.raises(AppIdMismatch, match="another appid"):
        crypto.decrypt(standin.encrypt("<xml/>", app_id="wx1111111111111111"))
    with pytest.raises(AppIdMismatch):  # a prefix of our appid is not our appid
        crypto.decrypt(standin.encrypt("<xml/>", app_id=standin.app_id[:-1]))


def test_wrong_key_is_refused() -> None:
    standin = WeChatStandIn()
    crypto = WeChatCrypto(standin.token, new_aes_key(), standin.app_id)
    for _ in range(20):
        with pytest.raises((DecryptError, AppIdMismatch)):
            crypto.decrypt(standin.encrypt("<xml><a>1</a></xml>"))


@pytest.mark.parametrize(("encrypted", "reason"), [
    ("not base64!", "not base64"),
    ("", "whole number"),
    ("QUJD", "whole number"),  # 3 bytes
    ("A" * 24, "whole number"),  # 18 bytes
])
def test_malformed_ciphertext_is_refused(encrypted: str, reason: str) -> None:
    with pytest.raises(DecryptError, match=reason):
        sample_crypto().decrypt(encrypted)


def test_tampered_ciphertext_is_refused() -> None:
    crypto = sample_crypto()
    data = bytearray(base64.b64decode(crypto.encrypt("<xml><a>1</a></xml>")))
    data[-1] ^= 0x01  # breaks the padding of the last block
    with pytest.raises(DecryptError):
        crypto.decrypt(base64.b64encode(bytes(data)).decode())


def test_timestamp_window() -> None:
    now = 1_700_000_000.0
    assert check_timestamp("1700000000", tolerance_s=300, now=now) == 1_700_000_000
    assert check_timestamp("1699999700", tolerance_s=300, now=now) == 1_699_999_700
    with pytest.raises(TimestampError, match="too old"):
        check_timestamp("1699999699", tolerance_s=300, now=now)
    with pytest.raises(TimestampError, match="future"):
        check_timestamp("1700000301", tolerance_s=300, now=now)
    for bad in ("", None):
        with pytest.raises(TimestampError, match="missing"):
            check_timestamp(bad, tolerance_s=300, now=now)
    for bad in ("-1700000000", "17e8", "1700000000.5", "9" * 40, " 1700000000"):
        with pytest.raises(TimestampError, match="malformed"):
            check_timestamp(bad, tolerance_s=300, now=now)
    assert check_timestamp(str(int(time.time())), tolerance_s=5) > 0


# ---------------------------------------------------------------------- config


def _config(**overrides: object) -> WeChatConfig:
    values: dict[str, object] = {"app_id": SAMPLE_APPID, "app_secret": "s3cret",
                                 "token": SAMPLE_TOKEN, "encoding_aes_key": SAMPLE_KEY}
    values.update(overrides)
    return WeChatConfig(**values)


def test_config_accepts_a_console_key_and_hides_secrets() -> None:
    config = _config()
    assert config.aes_key is not None and len(config.aes_key) == 32
    assert config.api_base == "https://api.weixin.qq.com"
    text = repr(config) + str(config.model_dump())
    for secret in ("s3cret", SAMPLE_TOKEN, SAMPLE_KEY):
        assert secret not in text


@pytest.mark.parametrize("key", [SAMPLE_KEY[:-1], SAMPLE_KEY + "H", SAMPLE_KEY[:-1] + "+",
                                 SAMPLE_KEY[:-1] + "=", " " * 43])
def test_config_refuses_a_malformed_aes_key(key: str) -> None:
    with pytest.raises(ValidationError):
        _config(encoding_aes_key=key)


def test_config_needs_a_key_unless_plaintext() -> None:
    for mode in ("secure", "compatible"):
        with pytest.raises(ValidationError, match="needs encoding_aes_key"):
            _config(encoding_aes_key="", mode=mode)
    assert _config(encoding_aes_key="", mode="plaintext").encoding_aes_key is None


@pytest.mark.parametrize("overrides", [
    {"token": "ab"}, {"token": "has space"}, {"token": "x" * 33}, {"app_secret": ""},
    {"app_id": ""}, {"mode": "aes"}, {"api_base": "ftp://x"}, {"api_base": "http://h/?q=1"},
    {"unknown_field": 1},
])
def test_config_refuses_typos(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _config(**overrides)


def test_config_api_base_is_normalised() -> None:
    assert _config(api_base="http://127.0.0.1:8080/").api_base == "http://127.0.0.1:8080"
