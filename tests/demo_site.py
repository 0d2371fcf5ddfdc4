"""What the demo platform publishes, counted from its catalogue: the tests of the export and
of the command compare with these instead of numbers that go stale when the demo grows."""

from __future__ import annotations

from statuspage.cli.demo_catalogue import COMPONENT_COUNT

__all__ = ["COMPONENT_COUNT", "EXPORTED_FILES", "EXPORTED_URLS", "LOADED"]

INCIDENTS = 3
MAINTENANCES = 3
LOADED = f"{COMPONENT_COUNT} components, {INCIDENTS} incidents and {MAINTENANCES} maintenances"

# API 8 + the static files (stylesheet, script, feed stylesheet, favicon, the embed's script and
# stylesheet) + the JSON 404 of /api/
_SHARED = 8 + 6 + 1
# home, networks, the embed frame, history, each incident and maintenance; 5 feeds, networks
# and notices, RSS and Atom per component; the 404 page
_PER_LANGUAGE = 4 + INCIDENTS + MAINTENANCES + 7 + 2 * COMPONENT_COUNT + 1
# per language twice (zh-CN, en), and the default language's again at the bare paths
EXPORTED_FILES = _SHARED + 3 * _PER_LANGUAGE
# each file but the 404 pages (the JSON one of /api/ and one per language) has a URL
EXPORTED_URLS = EXPORTED_FILES - 1 - 3
