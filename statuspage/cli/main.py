"""The `statuspage` command: serve, worker, migrate, demo, export, staff, token, backup, restore,
import, subscribers.

This module imports argparse, the settings and the role names only; each command imports what
it needs when it runs. `serve` stays running as granian's supervisor and `worker` as serve's
delivery child, so neither carries the modules of the others (bench/memory.py measures it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from incidents.common.errors import DomainError
from incidents.common.roles import StaffRole
from statuspage.config import Settings, SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    creating = args.command == "staff" and args.action == "create"
    if creating and args.role == StaffRole.platform and args.password_stdin:
        print(
            "error: a platform account has no password (it never signs in to the console):"
            " drop --password-stdin, then give it a token with"
            f" `statuspage token create --email {args.email}`",
            file=sys.stderr,
        )
        return 2
    try:
        return _command(args)
    except (SettingsError, DomainError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from statuspage.cli.serve import serve

        return serve(Settings.from_env(check=False), args)  # its `migrate` child checks them
    settings = Settings.from_env()
    if args.command == "worker":
        from statuspage.cli.worker import work

        return work(settings, once=args.once)
    if args.command in {"backup", "restore"}:
        return _backup_or_restore(settings, args)
    if args.command in {"import", "subscribers"}:
        from statuspage.cli import moving

        return moving.run(settings, args)
    from statuspage.cli.commands import run

    return run(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statuspage", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate, then serve HTTP (granian)")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="web server processes")
    serve.add_argument("--demo", action="store_true", help="load the demo data first if empty")
    worker = commands.add_parser(
        "worker", help="deliver broadcasts and run the scheduler, without serving HTTP"
    )
    worker.add_argument(
        "--once", action="store_true", help="send what is due now, then exit (no scheduler)"
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("demo", help="load the demo crypto platform into an empty database")
    export = commands.add_parser(
        "export", help="write the public site as static files (serve DIR/current with nginx)"
    )
    export.add_argument("target", help="a folder, or s3://bucket/prefix (the s3 extra)")
    staff = commands.add_parser("staff", help="staff accounts").add_subparsers(
        dest="action", required=True
    )
    create = staff.add_parser("create", help="create a staff account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in StaffRole])
    create.add_argument(
        "--password-stdin", action="store_true", help="read a console password from stdin"
    )
    reset = staff.add_parser(
        "reset-second-factor",
        help="take away someone's second factor (a lost phone, every admin locked out):"
        " they are signed out and enrol a new one at their next sign-in",
    )
    reset.add_argument("--email", required=True)
    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="action", required=True
    )
    token_create = token.add_parser("create", help="create an API token (shown once)")
    token_create.add_argument("--email", required=True, help="the staff account it acts as")
    token_create.add_argument("--name", default="cli", help="what the token is for")
    backup = commands.add_parser("backup", help="copy the database to a file while it serves")
    backup.add_argument("file", help="where the backup goes")
    restore = commands.add_parser("restore", help="put a backup into the (empty) database")
    restore.add_argument("file", help="the backup to restore")
    restore.add_argument("--force", action="store_true", help="replace a database holding data")
    _moving_commands(commands)
    return parser


def _moving_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sources = commands.add_parser("import", help="move in from another status page")
    kinds = sources.add_subparsers(dest="source", required=True)
    page = kinds.add_parser(
        "statuspage", help="an Atlassian Statuspage page: components, incidents, maintenances"
    )
    page.add_argument("url", help="the page's address, e.g. https://status.example.com")
    _secret(page, "--api-key", "a manage API key: the whole history and subscribers")
    page.add_argument("--api-url", help="the manage API (default: Atlassian's v1 API)")
    _consent(page)
    cachet = kinds.add_parser(
        "cachet", help="a Cachet 3 page: groups, components, incidents, schedules"
    )
    cachet.add_argument("url", help="the page's address, e.g. https://status.example.com")
    _secret(cachet, "--api-token", "an API token: what only signed-in readers see there")
    kuma = kinds.add_parser(
        "uptime-kuma", help="an Uptime Kuma status page: groups, monitors, incidents"
    )
    kuma.add_argument("url", help="Uptime Kuma's address, e.g. https://uptime.example.com")
    kuma.add_argument("--slug", required=True, help="the status page's slug (/status/SLUG)")
    for parser in (page, cachet, kuma):
        parser.add_argument(
            "--dry-run", action="store_true", help="print what it would do, write nothing"
        )
        parser.add_argument(
            "--language", help="the language the page is written in (default: the site's)"
        )
    subscribers = commands.add_parser("subscribers", help="subscribers as CSV").add_subparsers(
        dest="action", required=True
    )
    export = subscribers.add_parser("export", help="address, language, components, confirmed_at")
    export.add_argument("file", help="where the CSV goes ('-': standard output)")
    taken = subscribers.add_parser("import", help="add the rows not subscribed yet")
    taken.add_argument("file", help="the CSV ('-': standard input)")
    taken.add_argument(
        "--per-minute",
        type=int,
        default=None,
        help="confirmation emails sent a minute (default: 60)",
    )
    _consent(taken)


def _secret(parser: argparse.ArgumentParser, option: str, what: str) -> None:
    parser.add_argument(
        option,
        dest="api_key",
        help=f"{what} (shown in the process list: prefer {option}-file"
        " or STATUSPAGE_IMPORT_API_KEY)",
    )
    parser.add_argument(
        f"{option}-file", dest="api_key_file", help="a file holding it (its first line)"
    )


def _consent(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--consent-given",
        action="store_true",
        help="staff attest these people already agreed: confirm them without an email"
        " (recorded in the audit log)",
    )


def _backup_or_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from statuspage.cli.backup import BackupError, backup, restore

    try:
        if args.command == "backup":
            print(backup(settings.database_url, Path(args.file)))
        else:
            print(restore(settings.database_url, Path(args.file), force=args.force))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
