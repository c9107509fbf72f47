"""What a console password must be, and the passwords an admin hands out.

Length matters most (NIST SP 800-63B): at least ``MIN_LENGTH`` characters, any
characters, no composition rules. Refused: the passwords that ship with the sample
and the most common ones (``callcenter.config.shipped``), and passwords containing
the username. A password someone else chose (agents.yaml, an admin's reset) is only
good for choosing one's own.
"""

from __future__ import annotations

import secrets

from callcenter.config.shipped import is_common

MIN_LENGTH = 10
MAX_LENGTH = 256


def weakness(password: str, username: str) -> str | None:
    """Why this password may not be used, or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"is too short: use at least {MIN_LENGTH} characters (a few words work well)"
    if len(password) > MAX_LENGTH:
        return f"is too long: at most {MAX_LENGTH} characters"
    if is_common(password):
        return "is one of the most common passwords or ships with the sample; choose another"
    if username and username.strip().lower() in password.lower():
        return "contains your username; choose another"
    return None


def temporary_password() -> str:
    """A one-time password for an admin's reset: 16 characters, unambiguous in print."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
