"""Fixtures for the console tests in every folder below: the real stack (tests.support)."""

from tests.support.webstack import browser, make_stack, screenshots, web_stack

__all__ = ["browser", "make_stack", "screenshots", "web_stack"]
