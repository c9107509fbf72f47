"""A chat's transcript by e-mail: one plain-text message (UTF-8) through the configured
SMTP relay (``chat.web.transcript_email``). smtplib blocks, so it runs in a worker
thread, with a timeout; what fails is raised as ``MailError`` for the caller to answer."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from callcenter.config.models import TranscriptEmail

__all__ = ["MailError", "send_text_mail"]

TIMEOUT = 10.0


class MailError(Exception):
    """The relay could not be reached or refused the message (the text says which)."""


def _message(cfg: TranscriptEmail, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = cfg.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1])
    message.set_content(text, charset="utf-8")
    return message


async def send_text_mail(cfg: TranscriptEmail, to: str, subject: str, text: str, *,
                         timeout: float = TIMEOUT) -> None:
    message = _message(cfg, to, subject, text)

    def send() -> None:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout) as smtp:
            smtp.send_message(message)

    try:
        await asyncio.to_thread(send)
    except smtplib.SMTPRecipientsRefused:
        raise MailError("the mail server refused the address") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"the mail server refused the message ({type(exc).__name__})") from None
    except OSError as exc:  # refused, unreachable, timed out
        raise MailError(f"the mail server could not be reached ({type(exc).__name__})") from None
