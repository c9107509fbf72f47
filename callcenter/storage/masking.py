"""Masking of phone numbers and other identifiers for logs and screens.

Logs must never carry a whole phone number. ``mask_number`` is what every log line,
``repr`` and the ``interactions.caller_masked`` column use. For screens of users who
may not see numbers: ``mask_numbers_in`` (free text: notes, messages) and
``mask_number_fields`` (a payload's number-named fields, the WebSocket's last rule).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["is_masked", "mask_email", "mask_identity", "mask_number", "mask_number_fields",
           "mask_numbers_in"]

_MASK = "****"
_SEPARATORS = re.compile(r"[\s\-().]")
# A phone number inside free text: seven or more digits in a row, or the written forms
# 138 1234 5678 / 010-1234-5678 (a date such as 2024-01-02 is neither).
_NUMBER_IN_TEXT = re.compile(r"(?<![\d*])\+?(?:\d{7,}|\d{3,4}[ -]\d{3,4}[ -]\d{4})(?![\d*])")
# Fields that hold a number as such (caller, callback_number, phone...), as in the logs.
_NUMBER_FIELD = re.compile(r"number|phone|caller|callee|mobile|dnis|(^|_)ani($|_)", re.I)


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


def mask_numbers_in(text: str) -> str:
    """Every phone number written in free text masked (``mask_number``): notes, chats."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_number(m.group()), text)


def mask_number_fields(data: Any) -> Any:
    """A copy of a JSON-like payload whose number-named fields are masked.

    The last line before a screen of someone who may not see numbers: a payload that
    names a field ``caller`` or ``callback_number`` gets it masked even if its writer
    forgot to. Values already masked are kept as they are.
    """
    if isinstance(data, dict):
        return {k: (_masked_field(v) if isinstance(k, str) and _NUMBER_FIELD.search(k)
                    else mask_number_fields(v)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_number_fields(v) for v in data]
    return data


def _masked_field(value: Any) -> Any:
    if isinstance(value, str):
        if _SEPARATORS.sub("", value).lstrip("+").isdigit():
            return mask_number(value)
        return mask_numbers_in(value)  # "Zhang 13812345678": the number; masked parts stay
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1_000_000:
        return mask_number(str(value))
    if isinstance(value, list | tuple):  # "numbers": [...], each one a number
        return [_masked_field(v) for v in value]
    return mask_number_fields(value)
