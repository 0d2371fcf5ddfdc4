"""The short commands: migrate, demo, staff (create, reset-second-factor), token, export (serve
and worker have their own modules; backup and restore are in backup.py).

`serve` runs `migrate` (or `demo`) as a child each time it starts, so the staff accounts (their
password hashing warms up at import), the second factor and the export are imported only by the
commands using them.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from incidents.common.roles import StaffRole
from statuspage.access import tokens as auth
from statuspage.cli import demo
from statuspage.config import Settings
from statuspage.db import Database, connect, migrate


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


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
            return await _export(database, settings, args.target)
        return 0
    finally:
        await database.dispose()


async def _demo(database: Database, settings: Settings) -> None:
    from statuspage.access import staff_accounts

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
        password = secrets.token_urlsafe(12)  # 16 characters: the console asks for 12
        await staff_accounts.set_password(
            session, staff_id=staff.id, password=password, actor_id=None
        )
        loaded = await demo.load(session, actor_id=staff.id, language=settings.default_language)
        _, plain = await auth.create_token(session, staff=staff, name="demo", actor_id=staff.id)
    print(f"demo: loaded a crypto platform with {loaded}")
    print(f"demo: staff console: {settings.public_url}/staff/")
    print(f"demo: sign in as {staff.email} with the password {password} (shown once)")
    print(
        "demo: your own account (admin and finance enrol an authenticator app at first sign-in):"
        " printf '%s\\n' 'a long passphrase' | statuspage staff create"
        " --email you@example.com --name You --role admin --password-stdin"
    )
    # Last: scripts and tests read the token after "shown once): ".
    print(f"demo: support API token (shown once): {plain}")


async def _create_staff(database: Database, args: argparse.Namespace) -> None:
    from statuspage.access import staff_accounts

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
    from statuspage.access import second_factor

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


async def _export(database: Database, settings: Settings, target: str) -> int:
    from statuspage.export.run import export_once
    from statuspage.export.snapshot import ExportError

    try:
        await export_once(database, settings, target)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
