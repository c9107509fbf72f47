"""Masking of phone numbers and other identifiers for logs and screens.

Logs must never carry a whole phone number. ``mask_number`` is what every log line,
``repr`` and the ``interactions.caller_masked`` column use.
"""

from __future__ import annotations

import re

__all__ = ["is_masked", "mask_email", "mask_identity", "mask_number"]

_MASK = "****"
_SEPARATORS = re.compile(r"[\s\-().]")


def mask_number(number: str | None) -> str:
    """Return a number safe to log: ``"13812345678"`` -> ``"138****5678"``.

    Separators (spaces, dashes, dots, parentheses) are dropped and a leading ``+`` is kept.
    Numbers of 10 digits or more keep their first 3 and last 4 digits; shorter ones
    (landlines without area code, extensions, short codes) keep only the last 2 digits.
    The hidden part is always four stars, so the length is not revealed either.
    Anything without digits (``anonymous``, a SIP user name) becomes ``"****"``;
    ``None``/empty gives ``""``.
    """
    if not number:
        return ""
    text = _SEPARATORS.sub("", str(number))
    plus = "+" if text.startswith("+") else ""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return _MASK
    if len(digits) >= 10:
        return f"{plus}{digits[:3]}{_MASK}{digits[-4:]}"
    if len(digits) <= 2:
        return f"{plus}{_MASK}"
    return f"{plus}{_MASK}{digits[-2:]}"


def mask_email(email: str | None) -> str:
    """``"alice@example.com"`` -> ``"a****@example.com"`` (domain kept, local part hidden)."""
    if not email:
        return ""
    local, sep, domain = str(email).partition("@")
    if not sep:
        return _MASK
    return f"{local[:1]}{_MASK}@{domain}"


def mask_identity(kind: str, value: str | None) -> str:
    """Mask a customer identity value according to its kind, for logs and ``repr``."""
    if kind == "phone":
        return mask_number(value)
    if kind == "email":
        return mask_email(value)
    if not value:
        return ""
    # Opaque ids (WeChat openid, web visitor id): a short tail is enough to correlate logs.
    return f"{_MASK}{str(value)[-4:]}" if len(str(value)) > 8 else _MASK


def is_masked(value: str | None) -> bool:
    """True when ``value`` already looks like the output of :func:`mask_number`."""
    return bool(value) and _MASK in str(value)
