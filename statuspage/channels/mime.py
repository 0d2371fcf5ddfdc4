"""Email as bytes, assembled by hand: a broadcast goes to thousands of subscribers with only the
recipient, the message id and two links changing, so its parts are laid out once and each copy
is a few joins and one C-speed encoding, not an `EmailMessage` built, parsed and flattened.

What comes out is 7-bit clean (RFC 2047 encoded words in headers, quoted-printable or base64
bodies) unless an address is not ASCII, in which case the message needs SMTPUTF8 (RFC 6531).
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import parseaddr

_MARK = re.compile("\x00([a-z_]+)\x00")  # where a per-recipient value goes in a rendered part
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9.-]+"
)


def mark(name: str) -> str:
    """The placeholder a template is rendered with where `name` will go for each recipient.
    (NUL never occurs in text we store, so a placeholder cannot come from what staff wrote.)"""
    return f"\x00{name}\x00"


@dataclass(frozen=True)
class Email:
    """One message ready for the SMTP server."""

    sender: str  # the envelope's MAIL FROM
    recipient: str
    content: bytes  # headers and body, CRLF line endings
    utf8: bool  # an address is not ASCII: the server must offer SMTPUTF8


def header(name: str, value: str, *, utf8: bool = False) -> bytes:
    """`Name: value` folded, with anything not ASCII in RFC 2047 encoded words (or left as
    UTF-8 when the message goes out with SMTPUTF8)."""
    if name == "Subject" and not utf8 and not value.isascii():
        # The policy's folder loses a space that falls between two encoded words ("with zero"
        # arrives as "withzero"); Header keeps every space inside its encoded words.
        encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
        return f"{name}: {encoded}\r\n".encode()
    policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return policy.fold_binary(*policy.header_store_parse(name, value))


def to_header(address: str) -> bytes:
    if _PLAIN_ADDRESS.fullmatch(address):  # the common case, without the header parser
        return f"To: {address}\r\n".encode()
    return header("To", address, utf8=not address.isascii())


def envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


class Part:
    """A text part rendered once with placeholders; `fill` gives one recipient's copy."""

    def __init__(self, subtype: str, rendered: str, *, escape: Callable[[str], str] = str) -> None:
        text = "\r\n".join(rendered.replace("\r\n", "\n").split("\n"))
        self._pieces = _MARK.split(text)  # literal, name, literal, name, …, literal
        self._escape = escape
        raw = text.encode()
        # Quoted-printable keeps mostly-ASCII text readable; base64 is shorter for the rest
        # (each byte above 127 costs three in quoted-printable, four thirds in base64).
        self._base64 = (len(raw) - len(text)) * 6 > len(raw)
        encoding = "base64" if self._base64 else "quoted-printable"
        self.head = (
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
        ).encode()

    def fill(self, values: Mapping[str, str]) -> bytes:
        pieces = self._pieces.copy()
        for index in range(1, len(pieces), 2):
            pieces[index] = self._escape(values[pieces[index]])
        raw = "".join(pieces).encode()
        if self._base64:
            body = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        else:
            body = binascii.b2a_qp(raw, istext=True)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
        return self.head + body


class Alternative:
    """multipart/alternative of a plain-text and an HTML part. The boundary cannot occur in
    either part: "=_" never appears in quoted-printable or base64."""

    def __init__(self, text: Part, html: Part) -> None:
        self.text = text
        self.html = html
        self._boundary = f"=_{secrets.token_hex(16)}".encode()
        self.head = (
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="%s"\r\n'
            % (self._boundary)
        )

    def body(self, values: Mapping[str, str]) -> bytes:
        line = b"--" + self._boundary
        return b"".join(
            [
                b"\r\n",
                line + b"\r\n",
                self.text.fill(values),
                line + b"\r\n",
                self.html.fill(values),
                line + b"--\r\n",
            ]
        )
