"""Moving in and out: `import statuspage URL`, and `subscribers export|import` as CSV."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

from incidents.broadcasting import transfers
from incidents.common.actor import Actor
from statuspage.config import Settings
from statuspage.db import Database, connect, migrate


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "subscribers" and args.action == "import":
        args.text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    code = asyncio.run(_run(settings, args))
    if args.command == "subscribers" and args.action == "export" and code == 0:
        if args.file == "-":
            sys.stdout.write(args.text)
        else:
            Path(args.file).write_text(args.text, encoding="utf-8")
    return code


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from statuspage.importers.sources import SourceError

    database = connect(settings.database_url)
    try:
        await migrate(database)
        if args.command == "import":
            return await _import_statuspage(database, settings, args)
        if args.action == "export":
            args.text = await _export(database, settings)
            return 0
        return await _import_csv(database, settings, args)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await database.dispose()


async def _import_statuspage(
    database: Database, settings: Settings, args: argparse.Namespace
) -> int:
    from incidents.models import LANGUAGES
    from statuspage.importers.statuspage_import import MANAGE_API, Options, run_import

    language = args.language or settings.default_language
    if language not in LANGUAGES:
        print(
            f"error: --language: {language!r} is not one of {', '.join(LANGUAGES)}", file=sys.stderr
        )
        return 2
    options = Options(
        url=args.url,
        language=language,
        api_key=args.api_key,
        api_url=args.api_url or MANAGE_API,
        dry_run=args.dry_run,
        consent_given=args.consent_given,
    )
    async with httpx.AsyncClient(follow_redirects=True) as client:
        report = await run_import(database, client, options)
    verb = "would import" if args.dry_run else "imported"
    for line in report.lines:
        print(f"{verb}: {line}")
    for note in report.notes:
        print(f"note: {note}")
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(report.created.items()))
    dry = " (dry run: nothing written)" if args.dry_run else ""
    print(f"{verb} {counts or 'nothing new'}{dry}")
    return 0


def _actor(settings: Settings) -> Actor:
    return Actor(staff_id=None, default_language=settings.default_language)


async def _export(database: Database, settings: Settings) -> str:
    async with database.sessionmaker() as session, session.begin():
        text, count = await transfers.export_csv(session, actor=_actor(settings))
    print(f"exported {count} subscribers", file=sys.stderr)
    return text


async def _import_csv(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    async with database.sessionmaker() as session, session.begin():
        rows = await transfers.parse_csv(session, args.text)
        done = await transfers.import_rows(
            session,
            rows=rows,
            consent_given=args.consent_given,
            actor=_actor(settings),
            source=f"csv:{Path(args.file).name}",
            per_minute=args.per_minute or transfers.CONFIRMATIONS_PER_MINUTE,
        )
    print(
        f"imported {len(done.created)} subscribers ({done.confirmed} confirmed on staff's word,"
        f" {done.confirmations_queued} confirmation emails queued);"
        f" {done.already_subscribed} already subscribed"
    )
    return 0
