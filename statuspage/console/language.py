"""The console's language switch: each staff member's own choice, kept on their account, so it
follows them to every browser (until then, their browser's Accept-Language decides)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from incidents.common.errors import DomainError
from incidents.common.staff import ANY_STAFF, Staff
from incidents.models import LANGUAGES
from statuspage.console.kit import Console, Page, console_path, route


def routes() -> list[Page]:
    return [route("/language", choose, ANY_STAFF, methods=["POST"], enrolling=True)]


async def choose(console: Console) -> Response:
    chosen = console.field("language")
    if chosen not in LANGUAGES:
        allowed = ", ".join(LANGUAGES)
        raise DomainError(f"language must be one of {allowed}, not {chosen!r}", field="language")

    async def save(db: AsyncSession) -> None:
        await db.execute(
            update(Staff).where(Staff.id == console.staffer.id).values(language=chosen)
        )

    await console.write(save)
    return console.redirect(console_path(console.field("next")))
