"""TOTP codes as RFC 6238 defines them, the ±1-step window, sealed secrets and the QR code."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pyotp
import pytest
import qrcode

from statuspage.access.totp import (
    SecretBox,
    Unsealable,
    code_at,
    grouped,
    matching_step,
    new_secret,
    provisioning_uri,
    qr_svg,
    step_at,
)

# RFC 6238, appendix B: the SHA-1 seed "12345678901234567890" and its eight-digit codes; a
# six-digit code is the same number's last six digits (the truncation is modulo 10^digits).
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
NOW = datetime(2026, 12, 3, 10, 0, 15, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "eight_digits"), RFC_VECTORS)
def test_codes_are_those_of_rfc_6238(seconds: int, eight_digits: str) -> None:
    moment = datetime.fromtimestamp(seconds, UTC)
    assert code_at(RFC_SECRET, step_at(moment)) == eight_digits[-6:]
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(seconds) == eight_digits


def test_a_code_passes_one_step_either_side_and_no_further() -> None:
    secret = new_secret()
    now = step_at(NOW)
    for offset in (-1, 0, 1):
        code = code_at(secret, now + offset)
        assert matching_step(secret, code, now=NOW, after=0) == now + offset
    for offset in (-3, -2, 2, 3):
        assert matching_step(secret, code_at(secret, now + offset), now=NOW, after=0) is None


def test_a_step_at_or_before_the_last_accepted_one_is_refused() -> None:
    secret = new_secret()
    now = step_at(NOW)
    assert matching_step(secret, code_at(secret, now), now=NOW, after=now) is None
    assert matching_step(secret, code_at(secret, now - 1), now=NOW, after=now) is None
    assert matching_step(secret, code_at(secret, now + 1), now=NOW, after=now) == now + 1


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "12 456"])
def test_what_is_not_six_ascii_digits_is_never_a_code(typed: str) -> None:
    assert matching_step(new_secret(), typed, now=NOW, after=0) is None


def test_a_new_secret_has_160_random_bits() -> None:
    secret = new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert secret != new_secret()
    assert grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_a_sealed_secret_opens_only_with_its_key_and_context() -> None:
    box = SecretBox(b"k" * 32)
    secret = new_secret()
    sealed = box.seal(secret, context="staff:7")
    assert secret not in sealed
    assert sealed != box.seal(secret, context="staff:7")  # a fresh nonce each time
    assert box.open(sealed, context="staff:7") == secret
    with pytest.raises(Unsealable):
        box.open(sealed, context="staff:8")  # copied onto another person's row
    with pytest.raises(Unsealable):
        SecretBox(b"o" * 32).open(sealed, context="staff:7")  # SECRET_KEY changed
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    for broken in (flipped, sealed[:20], "v1.", "plain", "v1.!!!"):
        with pytest.raises(Unsealable):
            box.open(broken, context="staff:7")


def test_the_provisioning_uri_names_the_site_and_the_account() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    uri = provisioning_uri(secret, account="mei@coinport.example", issuer="Coin Port")
    assert uri == (
        "otpauth://totp/Coin%20Port:mei%40coinport.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        "&issuer=Coin%20Port&algorithm=SHA1&digits=6&period=30"
    )
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.secret, parsed.name, parsed.issuer) == (
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "mei@coinport.example",
        "Coin Port",
    )


def test_the_qr_code_is_an_inline_svg_of_paths_only() -> None:
    svg = qr_svg("otpauth://totp/a%3Cb%3E?secret=JBSWY3DPEHPK3PXP&issuer=%3Cscript%3E")
    assert svg.startswith('<svg class="qr" role="img" aria-label="QR code" ')
    assert svg.endswith("</svg>")
    assert "<path " in svg
    for absent in ("script", "otpauth", "JBSWY3DPEHPK3PXP", "<?xml", "href"):
        assert absent not in svg


def test_the_qr_code_draws_the_modules_of_the_uri() -> None:
    """Each dark module of the URI's QR code is one unit square of the path, and no other."""
    uri = provisioning_uri(new_secret(), account="omar@coinport.example", issuer="CoinPort")
    drawn = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", qr_svg(uri))}
    code = qrcode.QRCode(border=2)
    code.add_data(uri)
    code.make(fit=True)
    dark = {(x, y) for y, row in enumerate(code.get_matrix()) for x, on in enumerate(row) if on}
    assert drawn == dark
