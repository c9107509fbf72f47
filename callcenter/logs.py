"""Structured log lines: ``ts level logger event key=value ...``.

Call sites log an event name and pass fields in ``extra``; nothing else is
formatted into messages, so lines stay greppable and machine-readable. Fields
named like phone numbers are masked here as a last line of defence, and
fields named like secrets are never printed. A field with control characters (a
login name with CR/LF) is quoted with its control characters escaped, so nobody
can forge a log line by typing one.
"""

from __future__ import annotations

import json
import logging
import re
import time

from callcenter.storage.masking import mask_number

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET = re.compile(r"secret|password|token|aes_key|cookie", re.I)
_NUMBER = re.compile(r"number|caller|callee|phone|ani|dnis|exten", re.I)
_DIGITS = re.compile(r"\d{5,}")
_NEEDS_QUOTES = re.compile(r'[\s"\x00-\x1f\x7f]')


def mask_digits(value: str) -> str:
    """Mask every run of five or more digits in a field: 138****5678."""
    return _DIGITS.sub(lambda m: mask_number(m.group()), value)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage()
        if _NEEDS_QUOTES.search(message.replace(" ", "")):
            message = json.dumps(message, ensure_ascii=False)
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), record.name,
                 message]
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if _SECRET.search(key):
                value = "***"
            elif _NUMBER.search(key):
                value = mask_digits(str(value))
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            if isinstance(value, str) and (not text or _NEEDS_QUOTES.search(text)):
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("panoramisk", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
