"""What ships with the sample configuration and must never guard a real deployment.

The sample's passwords and secrets are in this public repository: beyond loopback
the engine refuses to start while one is in force, and no console password may be
one of them (or one of the most common passwords people pick).
"""

from __future__ import annotations

import ipaddress
import re

SHIPPED = re.compile(
    r"(welcome|dev-sip|load-sip|load-pass)-\d+|change-me(-now|-dev-only)?|callcenter|caller|"
    r"cc-test-secret", re.IGNORECASE)

COMMON = frozenset({
    "123456", "123456789", "12345678", "1234567890", "12345", "1234567", "password",
    "password1", "password123", "qwerty", "qwerty123", "qwertyuiop", "1q2w3e4r", "1q2w3e4r5t",
    "abc123", "111111", "000000", "123123", "666666", "888888", "iloveyou", "admin",
    "admin123", "administrator", "root", "welcome", "welcome1", "letmein", "monkey", "dragon",
    "football", "baseball", "sunshine", "princess", "master", "shadow", "superman", "trustno1",
    "passw0rd", "p@ssw0rd", "changeme", "default", "guest", "test", "test123", "user",
    "654321", "7777777", "987654321", "woaini", "5201314", "a123456", "aa123456", "qq123456",
    "1qaz2wsx", "zxcvbnm", "asdfghjkl", "11111111", "88888888", "12341234",
})


def is_shipped(secret: str) -> bool:
    return bool(SHIPPED.fullmatch(secret.strip()))


def is_common(password: str) -> bool:
    return password.strip().lower() in COMMON or is_shipped(password)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
