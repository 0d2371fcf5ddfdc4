"""What a crash scenario found after the restart."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class Outcome:
    """Every count but `crashes` and `redeliveries` must be 0; `notes` say when the kill did
    not land mid-operation (the scenario then proved less than it should)."""

    crashes: int = 0
    updates_lost: int = 0
    updates_half_written: int = 0
    messages_lost: int = 0
    duplicates: int = 0
    double_vouchers: int = 0
    redeliveries: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))
