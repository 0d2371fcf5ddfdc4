"""Console pages for recurring maintenance: the series, a new one (an RRULE in the site's time
zone), one series with its scheduled and coming occurrences, editing and cancelling it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents import series_edits, series_flows, service
from incidents.common.errors import DomainError
from incidents.common.staff import SUPPORT
from incidents.models import MaintenanceSeries
from incidents.schemas import LANGUAGES
from incidents.series_schemas import OccurrenceOut, SeriesIn, SeriesPatch
from statuspage import i18n
from statuspage.console import forms as console_forms
from statuspage.console.kit import Console, Page, placed, route
from statuspage.console.posted import FormError, local_time

_LIST = "/maintenance/series"


def routes() -> list[Page]:
    one = _LIST + "/{series_id:id}"
    return [
        route(_LIST, series_list, SUPPORT),
        route(_LIST + "/new", new_series, SUPPORT, methods=["GET", "POST"]),
        route(one, series_page, SUPPORT),
        route(one, edit_series, SUPPORT, methods=["POST"]),
        route(one + "/cancel", cancel_series, SUPPORT, methods=["POST"]),
    ]


async def series_list(console: Console) -> Response:
    rows = await console.read(lambda db: series_flows.list_series(db, limit=200))
    return console.render("maintenance_series_list.html", rows=rows)


async def _form(
    console: Console, values: dict[str, Any], *, status: int = 200, **extra: Any
) -> Response:
    return console.render(
        "maintenance_series_new.html",
        status=status,
        values=values,
        components=await console.read(service.list_components),
        languages=LANGUAGES,
        **extra,
    )


async def new_series(console: Console) -> Response:
    if console.request.method == "GET":
        defaults = {"auto_start": "on", "auto_complete": "on", "lead_days": "14"}
        return await _form(console, {**defaults, "rrule": "FREQ=WEEKLY;BYDAY=TU"})
    try:
        data = _series_in(console)
        made = await console.write(
            lambda db: series_flows.create_series(
                db, data=data, actor=console.actor(), zone=console.zone
            )
        )
    except FormError as error:
        return await _form(
            console, console_forms.entered(console), status=error.status, errors=error.errors
        )
    return console.redirect(f"/staff{_LIST}/{made.id}", done="series_created")


def _other_texts(console: Console, own: str) -> dict[str, dict[str, Any]]:
    """The title and text in each language but `own`, where either is filled in."""
    return {
        lang: {"name": console.field(f"name_{lang}") or None, "body": console.field(f"body_{lang}")}
        for lang in LANGUAGES
        if lang != own and (console.field(f"name_{lang}") or console.field(f"body_{lang}"))
    }


def _series_in(console: Console) -> SeriesIn:
    own = console.settings.default_language
    other = _other_texts(console, own)
    data = {
        "name": console.field(f"name_{own}"),
        "body": console.field(f"body_{own}"),
        "rrule": console.field("rrule"),
        "first_start": local_time(
            console.field("first_start"), console.zone, "first_start", console.language
        ),
        "duration_minutes": console.field("duration_minutes"),
        "lead_days": console.field("lead_days") or 14,
        **console_forms.component_choice(console),
        "notify": console.field("do_not_notify") != "on",
        "auto_start": console.field("auto_start") == "on",
        "auto_complete": console.field("auto_complete") == "on",
        "language": own,
        "translations": other,
    }
    result: SeriesIn = console.parse(SeriesIn, data)
    return result


async def series_page(
    console: Console, *, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    series_id = console.id("series_id")

    async def load(db: AsyncSession) -> tuple[MaintenanceSeries, list[OccurrenceOut]]:
        series = await series_flows.get_series(db, series_id=series_id)
        made = await series_flows.occurrences_of(db, series_id=series_id)
        return series, series_flows.outline(series, made, now=datetime.now(UTC))

    series, occurrences = await console.read(load)
    return console.render(
        "maintenance_series.html",
        status=status,
        series=series,
        occurrences=occurrences,
        languages=LANGUAGES,
        components=await console.read(service.list_components),
        values=values or _values_of(series),
        **extra,
    )


def _values_of(series: MaintenanceSeries) -> dict[str, Any]:
    """The edit form as the series is now: saving it unchanged changes nothing."""
    zone = ZoneInfo(series.time_zone)
    values: dict[str, Any] = {
        f"name_{series.language}": series.name,
        f"body_{series.language}": series.body,
        "rrule": series.rrule,
        "time_zone": series.time_zone,
        "first_start": series.first_start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": str(series.duration_minutes),
        "component_ids": [str(component.id) for component in series.components],
        "auto_start": "on" if series.auto_start else "",
        "auto_complete": "on" if series.auto_complete else "",
    }
    for lang, text in series.translations.items():
        values[f"name_{lang}"], values[f"body_{lang}"] = text.get("name", ""), text["body"]
    return values


async def edit_series(console: Console) -> Response:
    series_id = console.id("series_id")
    try:
        series = await console.read(lambda db: series_flows.get_series(db, series_id=series_id))
        data = _series_patch(console, own=series.language)
        await console.write(
            lambda db: series_edits.edit_series(
                db,
                series_id=series_id,
                data=data,
                actor=console.actor(),
                dropped=i18n.in_every_language("maintenance.series_dropped"),
            )
        )
    except FormError as error:
        values = console_forms.entered(console)
        return await series_page(console, status=error.status, values=values, errors=error.errors)
    return console.redirect(f"/staff{_LIST}/{series_id}", done="series_edited")


def _series_patch(console: Console, *, own: str) -> SeriesPatch:
    """The whole edit form: each field as shown is what the series becomes."""
    name = console.field("time_zone")
    try:
        zone = series_edits.zone_named(name)
    except DomainError as error:
        raise FormError.of(error, console.language) from error
    data = {
        "name": console.field(f"name_{own}"),
        "body": console.field(f"body_{own}"),
        "translations": _other_texts(console, own),
        "rrule": console.field("rrule"),
        "first_start": local_time(
            console.field("first_start"), zone, "first_start", console.language
        ),
        "duration_minutes": console.field("duration_minutes"),
        "time_zone": name,
        **console_forms.component_choice(console),
        "auto_start": console.field("auto_start") == "on",
        "auto_complete": console.field("auto_complete") == "on",
    }
    result: SeriesPatch = console.parse(SeriesPatch, data)
    return result


async def cancel_series(console: Console) -> Response:
    series_id = console.id("series_id")
    try:
        data = console_forms.maintenance_cancel_in(console)
        await console.write(
            lambda db: series_flows.cancel_series(
                db, series_id=series_id, data=data, actor=console.actor()
            )
        )
    except FormError as error:
        errors = placed(error.errors, "cancel", ["body", "translations"])
        return await series_page(console, status=error.status, errors=errors)
    return console.redirect(f"/staff{_LIST}/{series_id}", done="series_cancelled")
