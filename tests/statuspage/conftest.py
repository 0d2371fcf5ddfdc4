"""Fixtures of the application's browser tests: Debian's chromium through Playwright."""

from __future__ import annotations

from tests.statuspage.browsers import browser, chromium

__all__ = ["browser", "chromium"]
