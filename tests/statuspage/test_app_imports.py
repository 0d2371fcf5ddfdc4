"""A web worker loads the staff side (the console, the staff API, compensation, argon2) at the
first staff request, and the feed libraries at the first feed read, not to serve the page:
bench/memory.py measures what that saves."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import Fresh

STAFF_SIDE = [
    "argon2",
    "compensation",
    "statuspage.api.broadcasts",
    "statuspage.api.compensation",
    "statuspage.api.incidents",
    "statuspage.console",
]
FEEDS = ["feedgen", "icalendar", "lxml"]

# In a fresh interpreter: the app serves its public pages, then the console's sign-in page;
# prints the status codes and, after each, which of WATCHED had been imported.
_PROBE = """
import asyncio, json, sys
import httpx
from statuspage.app import create_app
from statuspage.config import Settings

WATCHED = json.loads(sys.argv[2])

def loaded():
    return sorted(name for name in WATCHED if name in sys.modules)

async def main():
    settings = Settings(database_url=sys.argv[1], cache_poll_seconds=0, run_worker=False,
                        run_scheduler=False)
    app = create_app(settings)
    seen = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ["/", "/api/v2/summary.json", "/history.rss", "/maintenance.ics",
                     "/staff/login"]:
            seen.append([path, (await client.get(path)).status_code, loaded()])
    await app.running.cache.close()
    await app.running.services.database.dispose()
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_the_staff_side_and_the_feeds_are_imported_when_first_asked_for(fresh: Fresh) -> None:
    done = subprocess.run(  # noqa: S603 - a fresh interpreter of ours
        [sys.executable, "-c", _PROBE, fresh.url, json.dumps(STAFF_SIDE + FEEDS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [
        ["/", 200, []],
        ["/api/v2/summary.json", 200, []],
        ["/history.rss", 200, ["feedgen", "lxml"]],
        ["/maintenance.ics", 200, FEEDS],
        ["/staff/login", 200, sorted(STAFF_SIDE + FEEDS)],
    ]
