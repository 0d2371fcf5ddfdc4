"""Moving in and out: `import statuspage|cachet|uptime-kuma URL`, and subscribers as CSV."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from incidents.broadcasting import transfers
from incidents.common.actor import Actor
from statuspage.config import Settings
from statuspage.db import Database, connect, migrate

if TYPE_CHECKING:
    from statuspage.importers.context import Report


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
            return await _import_source(database, settings, args)
        if args.action == "export":
            args.text = await _export(database, settings)
            return 0
        return await _import_csv(database, settings, args)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await database.dispose()


async def _import_source(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    from incidents.models import LANGUAGES

    language = args.language or settings.default_language
    if language not in LANGUAGES:
        print(
            f"error: --language: {language!r} is not one of {', '.join(LANGUAGES)}", file=sys.stderr
        )
        return 2
    key = _api_key(settings, args)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        report = await _read_and_write(database, client, args, language, key)
    verb = "would import" if args.dry_run else "imported"
    for line in report.lines:
        print(f"{verb}: {line}")
    for note in report.notes:
        print(f"note: {note}")
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(report.created.items()))
    dry = " (dry run: nothing written)" if args.dry_run else ""
    print(f"{verb} {counts or 'nothing new'}{dry}")
    return 0


def _api_key(settings: Settings, args: argparse.Namespace) -> str | None:
    """The source's key: from its file, the option, or STATUSPAGE_IMPORT_API_KEY."""
    from statuspage.importers.sources import SourceError

    if getattr(args, "api_key_file", None):
        option = "--api-token-file" if args.source == "cachet" else "--api-key-file"
        try:
            lines = Path(args.api_key_file).read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise SourceError(option, "", f"cannot be read: {error}") from None
        if not lines or not lines[0].strip():
            raise SourceError(option, "", f"{args.api_key_file} is empty")
        return lines[0].strip()
    return getattr(args, "api_key", None) or settings.import_api_key or None


async def _read_and_write(
    database: Database,
    client: httpx.AsyncClient,
    args: argparse.Namespace,
    language: str,
    key: str | None,
) -> Report:
    if args.source == "cachet":
        from statuspage.importers import cachet_import

        return await cachet_import.run_import(
            database,
            client,
            cachet_import.Options(
                url=args.url, language=language, api_token=key, dry_run=args.dry_run
            ),
        )
    if args.source == "uptime-kuma":
        from statuspage.importers import uptime_kuma_import

        return await uptime_kuma_import.run_import(
            database,
            client,
            uptime_kuma_import.Options(
                url=args.url, language=language, slug=args.slug, dry_run=args.dry_run
            ),
        )
    from statuspage.importers import statuspage_import

    options = statuspage_import.Options(
        url=args.url,
        language=language,
        api_key=key,
        api_url=args.api_url or statuspage_import.MANAGE_API,
        dry_run=args.dry_run,
        consent_given=args.consent_given,
    )
    return await statuspage_import.run_import(database, client, options)


def _actor(settings: Settings) -> Actor:
    return Actor(staff_id=None, default_language=settings.default_language)


async def _export(database: Database, settings: Settings) -> str:
    async with database.sessionmaker() as session, session.begin():
        text, count = await transfers.export_csv(session, actor=_actor(settings))
    print(f"exported {count} subscribers", file=sys.stderr)
    return text


async def _import_csv(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    """In transactions of IMPORT_CHUNK rows each, the confirmations paced across them all."""
    async with database.sessionmaker() as session:
        rows = await transfers.parse_csv(session, args.text)
    total, actor = transfers.Imported(), _actor(settings)
    for start in range(0, len(rows), transfers.IMPORT_CHUNK):
        async with database.sessionmaker() as session, session.begin():
            done = await transfers.import_rows(
                session,
                rows=rows[start : start + transfers.IMPORT_CHUNK],
                consent_given=args.consent_given,
                actor=actor,
                source=f"csv:{Path(args.file).name}",
                per_minute=args.per_minute or transfers.CONFIRMATIONS_PER_MINUTE,
                queued_before=total.confirmations_queued,
            )
        total.add(done)
    print(
        f"imported {len(total.created)} subscribers ({total.confirmed} confirmed on staff's word,"
        f" {total.confirmations_queued} confirmation emails queued);"
        f" {total.already_subscribed} already subscribed;"
        f" {total.suppressed} left out (unsubscribed before)"
    )
    return 0
