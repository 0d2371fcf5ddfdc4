"""Signed, optionally expiring tokens for the links in emails: confirm, manage, unsubscribe.

A token names its purpose, the subscription and its token version; bumping the version revokes
every link sent before. The key is SECRET_KEY, or one generated on first use and kept in the
database so that every instance signs alike.
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
class Signer:
    key: bytes

    def make(
        self, purpose: str, subject: int, version: int, expires: datetime | None = None
    ) -> str:
        claims = [purpose, subject, version, int(expires.timestamp()) if expires else 0]
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, purpose: str, token: str, *, now: datetime) -> tuple[int, int]:
        """(subject, version) of a valid token for `purpose`; InvalidToken otherwise."""
        body, _, mac = token.partition(".")
        if len(token) > 512 or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidToken("this link is invalid", field="token")
        try:
            claimed, subject, version, expires = json.loads(_unb64(body))
        except (ValueError, TypeError) as error:
            raise InvalidToken("this link is invalid", field="token") from error
        if claimed != purpose or not isinstance(subject, int) or not isinstance(version, int):
            raise InvalidToken("this link is invalid", field="token")
        if expires and now.timestamp() > expires:
            raise InvalidToken("this link has expired", field="token")
        return subject, version

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest()[:20])


async def load_signer(session: AsyncSession, settings: Settings) -> Signer:
    return Signer(await load_site_key(session, settings))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
