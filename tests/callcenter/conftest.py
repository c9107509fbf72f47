"""Fixtures for the console tests in every folder below: the real web stack (web/webstack.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "callcenter_test_webstack"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).resolve().parent / "web" / "webstack.py")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
webstack = sys.modules[_NAME]

make_stack = webstack.make_stack
web_stack = webstack.web_stack
browser = webstack.browser
screenshots = webstack.screenshots
