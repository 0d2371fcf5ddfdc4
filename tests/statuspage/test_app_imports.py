"""A web worker loads the staff side (the console, the staff API, compensation, argon2) at the
first staff request, not to serve readers: bench/memory.py measures what that saves."""

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

# In a fresh interpreter: the app serves its public pages, then the console's sign-in page;
# prints the status codes and, after each, which of STAFF_SIDE had been imported.
_PROBE = """
import asyncio, json, sys
import httpx
from statuspage.app import create_app
from statuspage.config import Settings

STAFF_SIDE = json.loads(sys.argv[2])

def loaded():
    return sorted(name for name in STAFF_SIDE if name in sys.modules)

async def main():
    settings = Settings(database_url=sys.argv[1], cache_poll_seconds=0, run_worker=False,
                        run_scheduler=False)
    app = create_app(settings)
    seen = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ["/", "/api/v2/summary.json", "/history.rss", "/staff/login"]:
            seen.append([path, (await client.get(path)).status_code, loaded()])
    await app.running.cache.close()
    await app.running.services.database.dispose()
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_the_staff_side_is_imported_at_the_first_staff_request(fresh: Fresh) -> None:
    done = subprocess.run(  # noqa: S603 - a fresh interpreter of ours
        [sys.executable, "-c", _PROBE, fresh.url, json.dumps(STAFF_SIDE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [
        ["/", 200, []],
        ["/api/v2/summary.json", 200, []],
        ["/history.rss", 200, []],
        ["/staff/login", 200, STAFF_SIDE],
    ]
