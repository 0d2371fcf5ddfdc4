"""Signed, optionally expiring tokens: the links in emails and the console's session cookie.

A token names its purpose, its subject (a subscription, a staff member) and the subject's
version; bumping the version revokes every token made before. Each use has its own purpose
("confirm", "manage", "unsubscribe", "staff-session"), inside the signed body, so a token made
for one never reads as another. The key is SECRET_KEY, or one generated on first use and kept
in the database so that every instance signs alike.

The format is fixed by the links already sent (manage and unsubscribe never expire):
base64url(JSON [purpose, subject, version, expires or 0]) "." base64url(HMAC-SHA256[:20]);
a token carrying a nonce (the session's CSRF token) has it as a fifth claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from incidents.common.errors import DomainError
from statuspage.config import Settings
from statuspage.keys import load_site_key


class InvalidToken(DomainError):
    status_code = 400
    code = "invalid_token"


@dataclass(frozen=True)
class Claims:
    subject: int
    version: int
    expires: int  # seconds since the epoch; 0: never
    nonce: str  # "" when the token carries none


@dataclass(frozen=True)
class Signer:
    key: bytes

    def make(
        self,
        purpose: str,
        subject: int,
        version: int,
        expires: datetime | None = None,
        *,
        nonce: str = "",
    ) -> str:
        claims: list[object] = [
            purpose,
            subject,
            version,
            int(expires.timestamp()) if expires else 0,
        ]
        if nonce:
            claims.append(nonce)
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, purpose: str, token: str, *, now: datetime) -> tuple[int, int]:
        """(subject, version) of a valid token for `purpose`; InvalidToken otherwise."""
        claims = self.claims(purpose, token, now=now)
        return claims.subject, claims.version

    def claims(self, purpose: str, token: str, *, now: datetime) -> Claims:
        """All the claims of a valid, unexpired token for `purpose`; InvalidToken otherwise."""
        body, _, mac = token.partition(".")
        # compare_digest refuses non-ASCII text with a TypeError: a mangled link is invalid
        if len(token) > 512 or not token.isascii() or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidToken("this link is invalid", field="token")
        try:
            claimed, subject, version, expires, *rest = json.loads(_unb64(body))
        except (ValueError, TypeError) as error:
            raise InvalidToken("this link is invalid", field="token") from error
        nonce = rest[0] if len(rest) == 1 else None if rest else ""
        if (
            claimed != purpose
            or not _whole(subject, version, expires)
            or not isinstance(nonce, str)
        ):
            raise InvalidToken("this link is invalid", field="token")
        if expires and now.timestamp() > expires:
            raise InvalidToken("this link has expired", field="token")
        return Claims(subject, version, expires, nonce)

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest()[:20])


async def load_signer(session: AsyncSession, settings: Settings) -> Signer:
    return Signer(await load_site_key(session, settings))


def _whole(*values: object) -> bool:
    return all(isinstance(value, int) and not isinstance(value, bool) for value in values)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
