"""The ledger of an import: which of the source's ids became which of our rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents.models import ImportedRecord


class Ledger:
    """The ids one source already brought in, loaded once and written as rows are made."""

    def __init__(self, session: AsyncSession, source: str) -> None:
        self._session = session
        self.source = source
        self._known: dict[tuple[str, str], int] = {}
        self._added: dict[tuple[str, str], ImportedRecord] = {}

    async def load(self) -> Ledger:
        rows = await self._session.execute(
            select(ImportedRecord.kind, ImportedRecord.source_id, ImportedRecord.our_id).where(
                ImportedRecord.source == self.source
            )
        )
        self._known = {(kind, source_id): our_id for kind, source_id, our_id in rows.all()}
        return self

    def find(self, kind: str, source_id: str) -> int | None:
        return self._known.get((kind, source_id))

    def remember(self, kind: str, source_id: str, our_id: int) -> None:
        """Records that `source_id` became `our_id`; said again (one source entry that took
        two of our steps), the later row of ours is the one kept."""
        self._known[(kind, source_id)] = our_id
        row = self._added.get((kind, source_id))
        if row is not None:
            row.our_id = our_id
            return
        row = ImportedRecord(source=self.source, kind=kind, source_id=source_id, our_id=our_id)
        self._added[(kind, source_id)] = row
        self._session.add(row)
