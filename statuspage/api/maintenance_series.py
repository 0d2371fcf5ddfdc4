"""The staff JSON API for recurring maintenance: create a series, read its occurrences, edit
it, cancel it (one occurrence is cancelled as any maintenance, at /maintenances/{id}/cancel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import series_edits, series_flows
from incidents.common.staff import ANY_STAFF, SUPPORT
from incidents.models import MaintenanceSeries, SeriesStatus
from incidents.schemas import MaintenanceCancelIn
from incidents.series_schemas import SeriesIn, SeriesOut, SeriesPatch
from statuspage import i18n
from statuspage.api.routing import Call, Endpoint, tagged


class SeriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: SeriesStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


async def series_out(session: AsyncSession, series: MaintenanceSeries) -> SeriesOut:
    occurrences = await series_flows.occurrences_of(session, series_id=series.id)
    return SeriesOut.model_validate(
        {
            **{name: getattr(series, name) for name in _COLUMNS},
            "component_ids": [component.id for component in series.components],
            "occurrences": series_flows.outline(series, occurrences, now=datetime.now(UTC)),
        }
    )


_COLUMNS = [name for name in SeriesOut.model_fields if name not in {"component_ids", "occurrences"}]


async def list_series(call: Call) -> list[SeriesOut]:
    query: SeriesQuery = call.query
    rows = await series_flows.list_series(
        call.session, statuses=[query.status] if query.status else None, limit=query.limit
    )
    return [await series_out(call.session, series) for series in rows]


async def create_series(call: Call) -> SeriesOut:
    series = await series_flows.create_series(
        call.session, data=call.body, actor=call.actor(), zone=ZoneInfo(call.settings.time_zone)
    )
    return await series_out(call.session, series)


async def get_series(call: Call) -> SeriesOut:
    series = await series_flows.get_series(call.session, series_id=call.path["series_id"])
    return await series_out(call.session, series)


async def edit_series(call: Call) -> SeriesOut:
    series = await series_edits.edit_series(
        call.session,
        series_id=call.path["series_id"],
        data=call.body,
        actor=call.actor(),
        dropped=i18n.in_every_language("maintenance.series_dropped"),
    )
    return await series_out(call.session, series)


async def cancel_series(call: Call) -> SeriesOut:
    series = await series_flows.cancel_series(
        call.session, series_id=call.path["series_id"], data=call.body, actor=call.actor()
    )
    return await series_out(call.session, series)


_e = tagged

ENDPOINTS: list[Endpoint] = [
    _e(
        "GET",
        "/maintenance-series",
        list_series,
        ANY_STAFF,
        "list recurring maintenance series",
        query=SeriesQuery,
        response=list[SeriesOut],
    ),
    _e(
        "POST",
        "/maintenance-series",
        create_series,
        SUPPORT,
        "create a recurring maintenance (an RRULE in the site's time zone and a duration)",
        body=SeriesIn,
        response=SeriesOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/maintenance-series/{series_id}",
        get_series,
        ANY_STAFF,
        "read a series with its scheduled and coming occurrences",
        response=SeriesOut,
    ),
    _e(
        "PATCH",
        "/maintenance-series/{series_id}",
        edit_series,
        SUPPORT,
        "edit a series: occurrences not started follow it, those started or past stay",
        body=SeriesPatch,
        response=SeriesOut,
    ),
    _e(
        "POST",
        "/maintenance-series/{series_id}/cancel",
        cancel_series,
        SUPPORT,
        "cancel a series: the rule stops and occurrences not started are cancelled",
        body=MaintenanceCancelIn,
        response=SeriesOut,
    ),
]
