"""Who acts: a person of the staff or the system, and the site defaults their input is read with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from incidents.common.db_types import utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts, and the site defaults their input is read with."""

    staff_id: int | None
    default_language: str
    now: datetime = field(default_factory=utcnow)
