"""The `statuspage` command: serve, worker, migrate, demo, export, staff, token, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from incidents.common.errors import DomainError
from incidents.common.staff import StaffRole
from statuspage.access import second_factor, staff_accounts
from statuspage.access import tokens as auth
from statuspage.cli import demo
from statuspage.config import Settings, SettingsError
from statuspage.db import Database, connect, migrate
from statuspage.export.run import export_once
from statuspage.export.snapshot import ExportError
from statuspage.workers.process import PARENT_ENV, WorkerProcess


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
        settings = Settings.from_env()
        if args.command == "serve":
            return _serve(settings, args)
        if args.command in {"backup", "restore"}:
            return _backup_or_restore(settings, args)
        return asyncio.run(_run(settings, args))
    except (SettingsError, DomainError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statuspage", description=__doc__)
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
    return parser


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


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    database = connect(settings.database_url)
    try:
        await migrate(database)
        if args.command == "demo":
            await _demo(database, settings)
        elif args.command == "staff" and args.action == "create":
            await _create_staff(database, args)
        elif args.command == "staff":
            await _reset_second_factor(database, args)
        elif args.command == "token":
            await _create_token(database, args)
        elif args.command == "export":
            await export_once(database, settings, args.target)
        elif args.command == "worker":
            await _work(database, settings, once=args.once)
        return 0
    finally:
        await database.dispose()


async def _demo(database: Database, settings: Settings) -> None:
    async with database.sessionmaker() as session, session.begin():
        if await demo.has_data(session):
            print("demo: the database already has components; nothing loaded")
            return
        staff = await auth.create_staff(
            session,
            email="support@demo.invalid",
            name="Demo Support",
            role=StaffRole.support,
            actor_id=None,
        )
        await demo.load(session, actor_id=staff.id, language=settings.default_language)
        _, plain = await auth.create_token(session, staff=staff, name="demo", actor_id=staff.id)
    print("demo: loaded a crypto platform with 16 components, 3 incidents and 2 maintenances")
    print(f"demo: support API token (shown once): {plain}")


async def _create_staff(database: Database, args: argparse.Namespace) -> None:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    async with database.sessionmaker() as session, session.begin():
        staff = await auth.create_staff(
            session, email=args.email, name=args.name, role=StaffRole(args.role), actor_id=None
        )
        if password is not None:
            await staff_accounts.set_password(
                session, staff_id=staff.id, password=password, actor_id=None
            )
    print(f"created staff {staff.id}: {staff.email} ({staff.role.value})")


async def _reset_second_factor(database: Database, args: argparse.Namespace) -> None:
    async with database.sessionmaker() as session, session.begin():
        staff = await auth.find_staff(session, email=args.email)
        dropped = await second_factor.reset_by_operator(session, staff=staff)
    if dropped:
        print(f"reset the second factor of {staff.email}: they enrol a new one at next sign-in")
    else:
        print(f"{staff.email} has no second factor: nothing to reset")


async def _create_token(database: Database, args: argparse.Namespace) -> None:
    async with database.sessionmaker() as session, session.begin():
        staff = await auth.find_staff(session, email=args.email)
        _, plain = await auth.create_token(session, staff=staff, name=args.name, actor_id=None)
    print(plain)
    print(f"token for {staff.email} ({staff.role.value}); it is shown once", file=sys.stderr)


async def _work(database: Database, settings: Settings, *, once: bool) -> None:
    from statuspage.wake import Bell
    from statuspage.workers.credit import CreditWorker
    from statuspage.workers.delivery import DeliveryWorker
    from statuspage.workers.loop import doorbell_for
    from statuspage.workers.scheduler import Scheduler

    worker = DeliveryWorker(database, settings)
    credit = CreditWorker(database, settings) if settings.credit_api_url else None
    if once:
        try:
            sent = await worker.drain()
            credited = await credit.drain() if credit is not None else 0
        finally:
            await worker.close()
            if credit is not None:
                await credit.close()
        print(f"worker: {sent} deliveries handled, {credited} vouchers sent to the credit API")
        return
    scheduler = (
        Scheduler(database, settings, on_change=Bell(database).ring)
        if settings.run_scheduler
        else None
    )
    doorbell = doorbell_for(database, settings, [worker, *([credit] if credit else [])])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    parent = os.environ.get(PARENT_ENV)
    orphaned = asyncio.create_task(_parent_gone(int(parent), stop)) if parent else None
    await doorbell.start()
    await worker.start()
    if credit is not None:
        await credit.start()
    if scheduler is not None:
        await scheduler.start()
    print(f"worker {worker.name}: delivering" + (", scheduler standing by" if scheduler else ""))
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if orphaned is not None:
            orphaned.cancel()
        if scheduler is not None:
            await scheduler.close()
        if credit is not None:
            await credit.close()
        await worker.close()
        await doorbell.close()


async def _parent_gone(parent: int, stop: asyncio.Event) -> None:
    """As `serve`'s child: stops the worker when `serve` is gone (killed on its own), so
    no orphan goes on delivering beside the next `serve`'s child."""
    while os.getppid() == parent:  # noqa: ASYNC110 - a process's parent sends no event
        await asyncio.sleep(1)
    stop.set()


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    async def prepare() -> None:
        database = connect(settings.database_url)
        try:
            await migrate(database)
            if args.demo:
                await _demo(database, settings)
        finally:
            await database.dispose()

    asyncio.run(prepare())
    host = args.host or settings.host
    port = args.port or settings.port
    child = None
    if settings.run_worker and settings.worker_process:
        child = WorkerProcess(os.environ, nice=settings.worker_nice)
        os.environ["RUN_WORKER"] = "false"  # the web processes leave delivery to the child
    where = f"http://{host}:{port}/ ({settings.database_url.split('://')[0]})"
    print(f"serving on {where}" + (", delivering in a worker process" if child else ""))
    sys.stdout.flush()
    if child is not None:
        child.start()
    try:
        Granian(
            "statuspage.app:app_from_env",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=args.workers,
            factory=True,
            respawn_failed_workers=True,  # a web process that dies is replaced
        ).serve()
    finally:
        if child is not None:
            child.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
