"""`subscribers import FILE` of a large file: written in transactions of IMPORT_CHUNK rows
(the database's write lock is never held for the whole file, and no query binds more than
PostgreSQL's 32,767 parameters), the confirmations paced across the chunks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from incidents.broadcasting import transfers
from incidents.broadcasting.models import Delivery, Subscription
from incidents.common.audit import AuditEntry
from statuspage.cli.main import main
from tests.conftest import Fresh

HEADER = "address,language,components,confirmed_at\n"


def _csv(path: Path, count: int) -> Path:
    lines = (f"holder{number:05d}@wallet.example,zh-CN,," for number in range(count))
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _imports(fresh: Fresh) -> list[int]:
    async with fresh.database.sessionmaker() as session:
        found = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "subscription.import")
        )
        return [entry.after["created"] for entry in found.all() if entry.after]


class Command:
    """`statuspage subscribers import ...` against the fresh database, as staff type it."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    async def __call__(self, *args: str) -> str:
        # main() runs its own event loop: in a thread here
        assert await asyncio.to_thread(main, ["subscribers", "import", *args]) == 0
        return self.capsys.readouterr().out


@pytest.fixture
def command(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Command:
    monkeypatch.setenv("DATABASE_URL", fresh.url)
    return Command(capsys)


@pytest.mark.slow
async def test_twenty_thousand_rows_go_in_chunks_and_a_second_run_adds_none(
    fresh: Fresh, tmp_path: Path, command: Command
) -> None:
    # asyncpg's bound-parameter limit is the point on PostgreSQL; SQLite's lock, at less cost
    count = 20_000 if fresh.url.startswith("postgresql") else 3_000
    big = str(_csv(tmp_path / "holders.csv", count))
    assert await command(big, "--consent-given") == (
        f"imported {count} subscribers ({count} confirmed on staff's word, 0 confirmation emails"
        " queued); 0 already subscribed; 0 left out (unsubscribed before)\n"
    )
    assert await _imports(fresh) == [transfers.IMPORT_CHUNK] * (count // transfers.IMPORT_CHUNK)
    assert (await command(big, "--consent-given")).endswith(
        f"; {count} already subscribed; 0 left out (unsubscribed before)\n"
    )
    async with fresh.database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Subscription)) == count


async def test_confirmations_keep_their_pace_from_one_chunk_to_the_next(
    fresh: Fresh, tmp_path: Path, command: Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfers, "IMPORT_CHUNK", 2)
    out = await command(str(_csv(tmp_path / "five.csv", 5)), "--per-minute", "1")
    assert "5 confirmation emails queued" in out
    assert await _imports(fresh) == [2, 2, 1]
    async with fresh.database.sessionmaker() as session:
        due = (await session.scalars(select(Delivery.next_attempt_at).order_by(Delivery.id))).all()
    assert [moment - due[0] for moment in due] == [timedelta(minutes=n) for n in range(5)]
