"""Console lists of every incident and every maintenance, past and present: filtered by
status, by the dates they span (in the site's time zone) and by a word, a page at a time."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import scheduled_posts, search
from incidents.broadcasting.models import PostKind, PostState
from incidents.common.staff import SUPPORT
from incidents.models import IncidentStatus, MaintenanceStatus
from statuspage.console.kit import Console, Page, route

PAGE_SIZE = 25
_MAX_PAGE = 10_000
E = TypeVar("E", bound=enum.Enum)


def routes() -> list[Page]:
    return [
        route("/incidents", incidents, SUPPORT),
        route("/maintenance", maintenances, SUPPORT),
    ]


@dataclass(frozen=True)
class Filters:
    """What the list's form asked for, read from the query string; `errors` by field."""

    statuses: list[Any]
    since: datetime | None
    until: datetime | None
    text: str
    page: int
    shown: dict[str, Any]
    errors: dict[str, str]

    def link(self, page: int) -> str:
        kept = {name: value for name, value in self.shown.items() if value and name != "page"}
        return "?" + urlencode({**kept, "page": page}, doseq=True)


_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)


def _whole(raw: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes "²", which `int` refuses."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 9


def _day(console: Console, name: str, errors: dict[str, str]) -> date | None:
    raw = console.request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "bad_date"
        return None
    if not _FIRST_DAY <= day <= _LAST_DAY:  # the day after must exist, in any zone
        errors[name] = "bad_date"
        return None
    return day


def _filters(console: Console, kinds: type[E]) -> Filters:
    query = console.request.query_params
    errors: dict[str, str] = {}
    known = {item.value: item for item in kinds}
    chosen = [value for value in query.getlist("status") if value]
    if any(value not in known for value in chosen):
        errors["status"] = "unknown_status"
    first, last = _day(console, "from", errors), _day(console, "to", errors)
    if first and last and last < first:
        errors["to"] = "to_before_from"
    zone = console.zone
    raw_page = query.get("page", "1")
    return Filters(
        statuses=[known[value] for value in chosen if value in known],
        since=datetime.combine(first, time(), zone) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), zone) if last else None,
        text=query.get("q", "").strip()[:200],
        page=min(int(raw_page), _MAX_PAGE) if _whole(raw_page) and int(raw_page) > 0 else 1,
        shown={
            "status": chosen,
            "from": query.get("from", ""),
            "to": query.get("to", ""),
            "q": query.get("q", "").strip()[:200],
        },
        errors=errors,
    )


@dataclass(frozen=True)
class Announcement:
    """A maintenance written now that the scheduler announces (creates) at `run_at`."""

    post_id: int
    run_at: datetime
    name: str
    starts: datetime
    ends: datetime


async def _announcements(db: AsyncSession) -> list[Announcement]:
    posts = await scheduled_posts.list_posts(db, state=PostState.pending, limit=200)
    return [
        Announcement(
            post.id,
            post.run_at,
            str(post.payload["name"]),
            datetime.fromisoformat(str(post.payload["scheduled_for"])),
            datetime.fromisoformat(str(post.payload["scheduled_until"])),
        )
        for post in posts
        if post.kind == PostKind.maintenance
    ]


async def _listed(
    console: Console, kinds: type[E], find: Any, template: str, **extra: Any
) -> Response:
    filters = _filters(console, kinds)
    found: search.Found[Any] = search.Found([], False)
    if not filters.errors:
        found = await console.read(
            lambda db: find(
                db,
                statuses=filters.statuses,
                since=filters.since,
                until=filters.until,
                text=filters.text,
                limit=PAGE_SIZE,
                offset=(filters.page - 1) * PAGE_SIZE,
            )
        )
    return console.render(
        template,
        status=400 if filters.errors else 200,
        rows=found.rows,
        more=found.more,
        filters=filters,
        statuses=list(kinds),
        problems=filters.errors,
        **extra,
    )


async def incidents(console: Console) -> Response:
    return await _listed(console, IncidentStatus, search.find_incidents, "list_incidents.html")


async def maintenances(console: Console) -> Response:
    return await _listed(
        console,
        MaintenanceStatus,
        search.find_maintenances,
        "list_maintenance.html",
        announcements=await console.read(_announcements),
    )
