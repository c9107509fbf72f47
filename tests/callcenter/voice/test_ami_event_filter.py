"""manager.conf lets through, by name, every AMI event the voice side handles.

The engine's AMI user receives only the events its ``eventfilter`` lines include
(issue 14: fewer events for Asterisk to send): a handler added for an event the
filter leaves out would never run. This reads both and compares.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from callcenter.ami.link import LINK_DOWN, LINK_UP

REPO = Path(__file__).resolve().parents[3]


def included_events() -> set[str]:
    text = (REPO / "asterisk" / "conf" / "manager.conf").read_text()
    return set(re.findall(r"^eventfilter\(action\(include\),name\((\w+)\)", text, re.M))


def handled_events() -> set[str]:
    tree = ast.parse((REPO / "callcenter" / "voice" / "services.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if isinstance(target, ast.Attribute) and target.attr == "_handlers":
                return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("VoiceService._handlers not found")


def test_every_handled_event_passes_the_filter():
    handled = handled_events()
    assert {"DialBegin", "Hangup", "UserEvent"} <= handled  # the parse found the table
    missing = handled - included_events()
    assert not missing, f"add eventfilter(action(include),name(...)) = for {sorted(missing)}"


def test_the_filter_names_only_events_someone_reads():
    # start-up waits for FullyBooted; the load observer reads Newchannel and BridgeLeave
    readers = handled_events() | {"FullyBooted", "Newchannel", "BridgeLeave"}
    assert included_events() <= readers - {LINK_UP, LINK_DOWN}
