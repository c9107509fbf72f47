"""WeChat callback signatures and message encryption (the WXBizMsgCrypt scheme).

* ``signature`` = sha1 of the sorted concatenation of [token, timestamp, nonce]; it
  authenticates the query only, never the body.
* ``msg_signature`` = sha1 of the sorted [token, timestamp, nonce, Encrypt]; in
  secure/compatible mode it is what binds the body to the token, so it is checked
  *before* anything is decrypted (no padding oracle for unsigned input).
* AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding
  to 32-byte blocks; plaintext = 16 random bytes + 4-byte big-endian length + message
  + appid, and the appid must be ours.

All comparisons of secrets-derived values use ``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chatbridge.adapter import CallbackRejected

__all__ = [
    "AppIdMismatch",
    "DecryptError",
    "SignatureError",
    "TimestampError",
    "WeChatCrypto",
    "check_timestamp",
    "sha1_signature",
    "verify_signature",
]

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class SignatureError(CallbackRejected):
    status = 403


class TimestampError(CallbackRejected):
    status = 403


class DecryptError(CallbackRejected):
    status = 400


class AppIdMismatch(CallbackRejected):
    status = 403


def sha1_signature(*parts: str) -> str:
    """sha1 hex of the parts sorted and concatenated, as WeChat signs."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def verify_signature(given: str | None, *parts: str, name: str = "signature") -> None:
    """Raise ``SignatureError`` unless ``given`` is the signature over ``parts``."""
    if not given:
        raise SignatureError(f"missing {name}")
    expected = sha1_signature(*parts)
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode()):
        raise SignatureError(f"bad {name}")


def check_timestamp(timestamp: str | None, *, tolerance_s: int, now: float | None = None) -> int:
    """The request's timestamp as int, refused if missing, old or too far in the future.

    Signatures never expire by themselves; the timestamp window is what stops a
    captured request from being replayed later.
    """
    if not timestamp:
        raise TimestampError("missing timestamp")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise TimestampError("malformed timestamp")
    value = int(timestamp)
    current = time.time() if now is None else now
    if value < current - tolerance_s:
        raise TimestampError("timestamp too old (replayed or delayed request)")
    if value > current + tolerance_s:
        raise TimestampError("timestamp too far in the future")
    return value


class WeChatCrypto:
    """Signs, encrypts and decrypts for one account (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("encoding_aes_key must be 43 characters")
        self._token = token
        self._key = base64.b64decode(encoding_aes_key + "=")
        if len(self._key) != 32:
            raise ValueError("encoding_aes_key does not decode to 32 bytes")
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    # -- signatures

    def verify_signature(self, signature: str | None, timestamp: str, nonce: str) -> None:
        verify_signature(signature, self._token, timestamp, nonce, name="signature")

    def verify_msg_signature(self, msg_signature: str | None, timestamp: str, nonce: str,
                             encrypt: str) -> None:
        verify_signature(msg_signature, self._token, timestamp, nonce, encrypt,
                         name="msg_signature")

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self._token, timestamp, nonce, encrypt)

    # -- AES

    def encrypt(self, message: str | bytes, *, random16: bytes | None = None) -> str:
        """base64 of AES-CBC(16 random bytes + len + message + appid, PKCS#7/32)."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = prefix + struct.pack(">I", len(body)) + body + self._app_id
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside ``encrypted``; ``DecryptError``/``AppIdMismatch`` otherwise."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise DecryptError("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding (wrong EncodingAESKey?)")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise DecryptError("decrypted message too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if length > len(plain) - 20:
            raise DecryptError("decrypted length field exceeds the message")
        message, app_id = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(app_id, self._app_id):
            raise AppIdMismatch("message is for another appid")
        return message

    # -- replies

    def encrypt_reply(self, reply_xml: str, *, timestamp: int | None = None,
                      nonce: str | None = None) -> str:
        """A passive reply as secure mode wants it: Encrypt, MsgSignature, TimeStamp, Nonce."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**10))
        encrypt = self.encrypt(reply_xml)
        signature = self.msg_signature(stamp, nonce, encrypt)
        return ("<xml>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
                f"<TimeStamp>{stamp}</TimeStamp>"
                f"<Nonce><![CDATA[{nonce}]]></Nonce>"
                "</xml>")
