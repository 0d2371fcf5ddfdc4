"""Staff API: subscribers out and in as CSV (address, language, components, confirmed_at),
each export and import audited; an import confirms rows at once only on staff's word."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from incidents.broadcasting import transfers
from incidents.common.staff import SUPPORT
from statuspage.api.routing import Call, Endpoint, tagged


class SubscribersCsv(BaseModel):
    rows: int = Field(description="subscriptions in the CSV")
    csv: str = Field(description="address,language,components,confirmed_at; components by name")


class SubscribersCsvIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: Annotated[str, Field(min_length=1, max_length=1_000_000)] = Field(
        description="a header address,language[,components,confirmed_at], then one row each"
    )
    consent_given: bool = Field(
        default=False,
        description="staff attest every row already agreed to be told (e.g. on the old page):"
        " rows are confirmed without a confirmation email; the audit log records who said so",
    )
    per_minute: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=transfers.CONFIRMATIONS_PER_MINUTE,
        description="confirmation emails sent a minute (without consent_given)",
    )


class SubscribersImported(BaseModel):
    created: int
    already_subscribed: int
    confirmed: int = Field(description="confirmed at once on staff's word (consent_given)")
    confirmations_queued: int = Field(description="confirmation emails, sent per_minute a minute")
    suppressed: int = Field(description="left out: these addresses unsubscribed here before")


async def export_subscribers(call: Call) -> SubscribersCsv:
    text, rows = await transfers.export_csv(call.session, actor=call.actor())
    return SubscribersCsv(rows=rows, csv=text)


async def import_subscribers(call: Call) -> SubscribersImported:
    data: SubscribersCsvIn = call.body
    rows = await transfers.parse_csv(call.session, data.csv)
    done = await transfers.import_rows(
        call.session,
        rows=rows,
        consent_given=data.consent_given,
        actor=call.actor(),
        source="api",
        per_minute=data.per_minute,
    )
    return SubscribersImported(
        created=len(done.created),
        already_subscribed=done.already_subscribed,
        confirmed=done.confirmed,
        confirmations_queued=done.confirmations_queued,
        suppressed=done.suppressed,
    )


ENDPOINTS: list[Endpoint] = [
    tagged(
        "POST",
        "/subscriptions/export",
        export_subscribers,
        SUPPORT,
        "the email subscribers as CSV (audited: a list of people's addresses)",
        response=SubscribersCsv,
    ),
    tagged(
        "POST",
        "/subscriptions/import",
        import_subscribers,
        SUPPORT,
        "add the CSV's rows not subscribed yet: each gets a confirmation email, unless staff"
        " attest the consent was already given",
        body=SubscribersCsvIn,
        response=SubscribersImported,
    ),
]
