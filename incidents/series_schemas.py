"""Input and output shapes of recurring maintenance (a series and its occurrences)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from incidents.component_choice import ComponentChoice, ComponentRechoice
from incidents.models import MaintenanceStatus, SeriesStatus
from incidents.schemas import Body, Language, MaintenanceText, Name, When

NEXT_LISTED = 10


def _to_the_minute(moment: datetime) -> datetime:
    """Windows start on a minute, as the console shows and posts them: a start with seconds
    would come back from an unchanged form as a new time of day."""
    return moment.replace(second=0, microsecond=0)


FirstStart = Annotated[When, AfterValidator(_to_the_minute)]


class SeriesIn(ComponentChoice):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    body: Body
    rrule: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TU (UNTIL in UTC, with a Z)"
    )
    first_start: FirstStart = Field(
        description="the first window's start; its time of day in the site's zone is kept"
    )
    duration_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]
    lead_days: Annotated[int, Field(ge=1, le=60)] = Field(
        default=14, description="each occurrence is scheduled and announced this many days ahead"
    )
    notify: bool = True
    auto_start: bool = True
    auto_complete: bool = True
    language: Language | None = None
    translations: dict[Language, MaintenanceText] = Field(default_factory=dict)


class SeriesPatch(ComponentRechoice):
    """What staff may change of a series; each field omitted stays. The occurrences not
    started yet follow; those started or past stay as they were."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    body: Body | None = None
    translations: dict[Language, MaintenanceText] | None = Field(
        default=None, description="replaces the translations (an empty object drops them)"
    )
    rrule: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    first_start: FirstStart | None = Field(
        default=None, description="the rule's start; its time of day in the time zone is kept"
    )
    duration_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="an IANA time zone, e.g. Asia/Shanghai"
    )
    auto_start: bool | None = None
    auto_complete: bool | None = None


class OccurrenceOut(BaseModel):
    """One window of the series: scheduled as a maintenance already, or still to come."""

    start: datetime
    end: datetime
    maintenance_id: int | None
    status: MaintenanceStatus | None


class SeriesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    body: str
    language: str
    translations: dict[str, Any]
    rrule: str
    first_start: datetime
    duration_minutes: int
    time_zone: str
    lead_days: int
    notify: bool
    auto_start: bool
    auto_complete: bool
    status: SeriesStatus
    cancelled_at: datetime | None
    component_ids: list[int]
    created_at: datetime
    updated_at: datetime
    occurrences: list[OccurrenceOut] = Field(
        description="the occurrences scheduled as maintenance, then the next ones to come"
    )
