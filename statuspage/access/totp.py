"""TOTP (RFC 6238) as authenticator apps speak it: SHA-1, six digits, 30-second steps; the
secrets sealed with AES-256-GCM under a key derived from the site key; the QR code as SVG.

A secret is sealed with the context it belongs to (its staff member, or the enrolment form it
travels in) as associated data, so a sealed secret copied to another row does not open there.
With SECRET_KEY set, a database dump alone neither opens the secrets nor makes codes; without
it, the generated site key is in the database too (README, "Sign-in and sessions").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP_SECONDS = 30
DIGITS = 6
# Codes of the step before and after the current one pass too: clocks drift, people type slowly.
WINDOW_STEPS = 1
_KEY_LABEL = b"statuspage staff second factor secrets v1"
_SEALED_PREFIX = "v1."


class Unsealable(ValueError):
    """A sealed secret that does not open: another key (SECRET_KEY changed), another context,
    or tampered."""


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends for HMAC-SHA-1."""
    return pyotp.random_base32(32)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def is_code(text: str) -> bool:
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def matching_step(secret: str, code: str, *, now: datetime, after: int) -> int | None:
    """The step within the window around `now` whose code is `code` and which comes after
    `after` (the last step accepted: a code is never accepted twice); None when none is."""
    if not is_code(code):
        return None
    current = step_at(now)
    found = None
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        # every candidate is compared, in constant time, so timing tells nothing of which
        if hmac.compare_digest(code_at(secret, step), code) and step > after and found is None:
            found = step
    return found


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='')}"
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def qr_svg(text: str) -> str:
    """The QR code of `text` as an inline SVG element (paths only: nothing of `text` is in it
    as markup)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg.replace("<svg ", '<svg class="qr" role="img" aria-label="QR code" ', 1)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens TOTP secrets with AES-256-GCM under a key derived from the site key."""

    site_key: bytes

    def _aead(self) -> AESGCM:
        return AESGCM(hmac.new(self.site_key, _KEY_LABEL, hashlib.sha256).digest())

    def seal(self, plain: str, *, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead().encrypt(nonce, plain.encode(), context.encode())
        return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        if not sealed.startswith(_SEALED_PREFIX) or len(sealed) > 512:
            raise Unsealable("not a sealed secret")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(_SEALED_PREFIX))
            plain = self._aead().decrypt(raw[:12], raw[12:], context.encode())
        except (ValueError, InvalidTag) as error:
            raise Unsealable("the sealed secret does not open with this key") from error
        return plain.decode()
