"""Log lines cannot be forged, and never carry a secret or a whole phone number."""

from __future__ import annotations

import logging

from callcenter.logs import KeyValueFormatter


def line(event: str, **fields: object) -> str:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": event,
                                    **fields})
    return KeyValueFormatter().format(record)


def test_a_typed_newline_cannot_start_a_forged_line():
    text = line("auth.login_failed", user="admin\n2026-01-01T00:00:00.000Z info auth.login "
                                            "user=admin role=admin")
    assert "\n" not in text and "\\n" in text  # escaped, one line


def test_control_characters_in_the_message_are_escaped():
    assert "\r" not in line("bad\revent") and "\x1b" not in line("x\x1b[2Jy")


def test_secrets_and_numbers_in_fields_are_never_whole():
    text = line("x", secret="hunter2-secret", caller="13812345678", ami_password="pw")
    assert "hunter2" not in text and "13812345678" not in text and "=pw" not in text
    assert "138****5678" in text


def test_no_log_call_names_a_field_the_log_record_itself_owns():
    """``extra={"message": ...}`` raises KeyError inside ``log.info`` when INFO is on (as
    in production, not in tests, which capture WARNING): a voice message left in the IVR
    failed that way. Every ``extra`` key in the code is checked against LogRecord's own."""
    import ast
    from pathlib import Path

    reserved = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
    root = Path(__file__).resolve().parents[2]
    clashes = []
    for path in [*root.glob("*/**/*.py")]:
        if any(part in {".venv", "node_modules", "tests"} for part in path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            for keyword in node.keywords:
                if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                    clashes += [f"{path.relative_to(root)}:{node.lineno} {key.value}"
                                for key in keyword.value.keys
                                if isinstance(key, ast.Constant) and key.value in reserved]
    assert clashes == []
