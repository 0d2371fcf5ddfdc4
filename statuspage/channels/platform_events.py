"""Pulling the platform's fee events from its paged API: `{"data": [...], "next_cursor": ...}`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from compensation.events import Outcome
from compensation.intake import SourceUnavailable, event_from_record, parse_json

__all__ = ["pull_events"]


def _page(number: int, response: httpx.Response) -> tuple[list[Any], str | None]:
    if not response.is_success:
        raise SourceUnavailable(f"page {number}: the source answered {response.status_code}")
    try:
        body = parse_json(response.content.decode())
    except (ValueError, RecursionError):
        raise SourceUnavailable(f"page {number}: the answer is not JSON") from None
    data = body.get("data") if type(body) is dict else None
    cursor = body.get("next_cursor") if type(body) is dict else None
    if type(data) is not list or not (cursor is None or (type(cursor) is str and cursor)):
        raise SourceUnavailable(
            f'page {number}: expected {{"data": [...], "next_cursor": "..." or null}}'
        )
    return data, cursor


async def pull_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str],
    token: str | None,
    max_pages: int = 100000,
) -> AsyncIterator[Outcome]:
    """Every event of the platform's paged API; `line` counts records across pages.
    A failed or malformed page raises SourceUnavailable naming the page."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    cursor: str | None = None
    number = 0
    for page in range(1, max_pages + 1):
        query = {**params, "cursor": cursor} if cursor is not None else dict(params)
        try:
            response = await client.get(url, params=query, headers=headers)
        except httpx.HTTPError as error:
            raise SourceUnavailable(
                f"page {page}: could not reach the source ({type(error).__name__})"
            ) from error
        records, cursor = _page(page, response)
        for record in records:
            number += 1
            yield event_from_record(number, record)
        if cursor is None:
            return
    raise SourceUnavailable(f"the source has more than {max_pages} pages")
