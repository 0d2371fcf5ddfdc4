"""Grafana alerting's webhook signature (its contact point's "HMAC Signature" setting): the
lowercase hex HMAC-SHA256, keyed with the shared secret, of `timestamp + ":" + body`, where
the timestamp is the Unix seconds Grafana sends in the configured timestamp header. A signed
Grafana source takes only calls signed so, with a timestamp within five minutes either way
(unsigned timestamps would let a copied call be replayed for ever)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from statuspage.access.tokens import Unauthenticated

# Grafana's documented default; its library falls back to the second when the setting is empty.
SIGNATURE_HEADERS = ("X-Grafana-Alerting-Signature", "X-Grafana-Alert-Signature")
TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"  # Grafana has no default: set it to this
TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    """What staff paste into the contact point's HMAC secret (used as its UTF-8 bytes)."""
    return secrets.token_urlsafe(32)


def signature(secret: str, *, timestamp: str, body: bytes) -> str:
    """As Grafana signs: HMAC-SHA256 of `timestamp:body`, hex-encoded."""
    signed = timestamp.encode() + b":" + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sent_signature(headers: Mapping[str, str]) -> str:
    """The signature the call carries (under either of Grafana's header names), or ''."""
    sent = next((headers.get(name) for name in SIGNATURE_HEADERS if headers.get(name)), None)
    return (sent or "").strip().lower()


def check(
    secret: str, *, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> None:
    sent = sent_signature(headers)
    if not sent:
        raise Unauthenticated(
            f"{SIGNATURE_HEADERS[0]}: this source's calls must be signed (the contact point's"
            " HMAC Signature, with this source's secret)",
            field=SIGNATURE_HEADERS[0],
        )
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated(
            f"{TIMESTAMP_HEADER}: this source's calls must carry the signed timestamp (set the"
            f" HMAC Signature's Timestamp Header to {TIMESTAMP_HEADER})",
            field=TIMESTAMP_HEADER,
        )
    skew = int(timestamp) - (time.time() if now is None else now)
    if abs(skew) > TOLERANCE_SECONDS:
        said = "too old" if skew < 0 else "too new"
        raise Unauthenticated(
            f"{TIMESTAMP_HEADER}: message timestamp {said} (more than five minutes off)",
            field=TIMESTAMP_HEADER,
        )
    expected = signature(secret, timestamp=timestamp, body=body)
    # bytes, as headers arrive (latin-1): compare_digest refuses non-ASCII text with a TypeError
    if not hmac.compare_digest(expected.encode(), sent.encode("latin-1")):
        raise Unauthenticated(
            f"{SIGNATURE_HEADERS[0]}: no matching signature found (an HMAC-SHA256 of"
            " timestamp:body with this source's secret)",
            field=SIGNATURE_HEADERS[0],
        )
