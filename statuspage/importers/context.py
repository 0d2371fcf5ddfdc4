"""What every step of an import shares: the transaction, the ledger, the report, the source."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.common.errors import DomainError
from statuspage.importers.ledger import Ledger
from statuspage.importers.sources import SourceError


@dataclass
class Report:
    """What the import did (or, in a dry run, would do), line by line, and how much."""

    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out, and why
    created: dict[str, int] = field(default_factory=dict)

    def did(self, kind: str, text: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1
        self.lines.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    ledger: Ledger
    language: str
    report: Report
    where: str

    def actor(self, at: datetime | None = None) -> Actor:
        return Actor(staff_id=None, default_language=self.language, now=at or utcnow())

    async def guarded(self, what: str, writes: Awaitable[object]) -> None:
        """Awaits one item's writes; a refusal of the domain names the item it came from."""
        try:
            await writes
        except (ValidationError, DomainError) as error:
            message = str(error).replace("\n", "; ")
            raise SourceError(self.where, what, f"refused: {message}") from None
