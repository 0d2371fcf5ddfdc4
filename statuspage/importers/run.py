"""The one write path of every import: a page read whole from its source, replayed in one
transaction against the ledger of that source (a dry run rolls it back), and audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from incidents.common import audit
from statuspage.db import Database
from statuspage.importers.context import Context, Report
from statuspage.importers.ledger import Ledger
from statuspage.importers.records import Page
from statuspage.importers.replay import replay


@dataclass(frozen=True)
class SourceOptions:
    """What every import is told: the source's address, the language it is written in, and
    whether to write (each source's options add what it needs, as keywords)."""

    url: str
    language: str
    dry_run: bool = False


async def write_page(
    database: Database,
    page: Page,
    options: SourceOptions,
    *,
    source: str,
    then: Callable[[Context], Awaitable[None]] | None = None,
) -> Report:
    """Replays `page` (and `then`, e.g. its subscribers) in one transaction against the ledger
    of `source` (`cachet:<url>`, ...); returns the report."""
    report = Report(notes=list(page.notes))
    async with database.sessionmaker() as session:
        await session.begin()
        try:
            ledger = await Ledger(session, source[:200]).load()
            context = Context(session, ledger, options.language, report, options.url)
            await replay(context, page)
            if then is not None:
                await then(context)
            if report.created:
                await audit.record(
                    session,
                    actor_id=None,
                    action=f"import.{source.partition(':')[0]}",
                    entity_type="import",
                    entity_id=None,
                    after={"url": options.url, "page": page.id, "created": report.created},
                )
        except BaseException:
            await session.rollback()
            raise
        if options.dry_run:
            await session.rollback()
        else:
            await session.commit()
    return report
