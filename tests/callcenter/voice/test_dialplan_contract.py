"""The dialplan contract is named once: callcenter/voice/dialplan.py and extensions.conf agree."""

from __future__ import annotations

import re
from pathlib import Path

from callcenter.voice import dialplan

EXTENSIONS = Path(__file__).resolve().parents[3] / "asterisk" / "conf" / "extensions.conf"
# Set on the channel by the engine and read by no dialplan line (AMI reads them back).
ENGINE_ONLY = {dialplan.OFFER_ID}


def _names() -> set[str]:
    return {value for name, value in vars(dialplan).items()
            if name.isupper() and isinstance(value, str)}


def test_every_contract_name_is_in_the_dialplan_and_the_dialplan_uses_no_other():
    text = EXTENSIONS.read_text()
    code = "\n".join(line.split(";", 1)[0] for line in text.splitlines())  # no comments
    used = (set(re.findall(r"\bCC_[A-Z_]+\b", code)) | set(re.findall(r"\bcc-[a-z-]+\b", code))
            | set(re.findall(r"\bCallCenter[A-Za-z]+\b", code)))
    names = _names()
    wanted = {n for n in names if n.startswith(("CC_", "cc-", "CallCenter"))} - ENGINE_ONLY
    assert wanted - used == set(), "named in dialplan.py, unused by extensions.conf"
    globals_only = {"CC_AGI", "CC_AGI_KEY", "CC_ENGINE_RETRY", "CC_ENGINE_WAIT_MAX",
                    "CC_VERDICT_WAIT"}
    assert used - names - globals_only == set(), "used by extensions.conf, not in dialplan.py"
