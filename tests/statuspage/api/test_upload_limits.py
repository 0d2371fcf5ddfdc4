"""Oversized uploads and forms are refused with 413 and a message naming the field."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents.common.staff import StaffRole
from statuspage.config import Settings
from statuspage.db import Database
from tests.compensation.helpers import COMP, HEADER, make_scene
from tests.conftest import MakeToken
from tests.statuspage.console_helpers import add_staff, csrf_of, sign_in

LIMIT = 1000
LINE = "acc-1,USDT,4.000000,100,trade,Spot trading,2026-03-01T02:10:00Z\n"
TOO_BIG = HEADER + LINE * 20  # about 1,400 bytes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, max_upload_bytes=LIMIT)


async def test_the_api_refuses_an_events_upload_over_the_limit(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(
        await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    )
    refused = {
        "error": {
            "code": "body_too_large",
            "message": f"the upload is over the {LIMIT}-byte limit",
            "field": "file",
        }
    }
    sized = await scene.upload(batch_id, TOO_BIG)

    async def stream() -> AsyncIterator[bytes]:  # no content-length: counted as it arrives
        yield HEADER.encode()
        for _ in range(20):
            yield LINE.encode()

    chunked = await client.post(
        f"{COMP}/batches/{batch_id}/events",
        content=stream(),
        headers={**scene.drafter, "content-type": "text/csv"},
    )
    for response in (sized, chunked):
        assert response.status_code == 413, response.text
        assert response.json() == refused
    lines = await client.get(f"{COMP}/batches/{batch_id}/lines", headers=scene.drafter)
    assert lines.json() == []  # nothing of the refused uploads was kept


async def test_the_console_refuses_an_upload_or_a_form_over_the_limit(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(
        await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    )
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    csrf = csrf_of((await client.get("/staff/finance")).text)
    upload = await client.post(
        f"/staff/finance/batches/{batch_id}/events",
        data={"csrf": csrf},
        files={"file": ("march-1.csv", TOO_BIG.encode(), "text/csv")},
    )
    assert upload.status_code == 413
    assert f"<p>file: the file is over the {LIMIT}-byte limit</p>" in upload.text
    form = await client.post("/staff/finance/policies", data={"csrf": csrf, "name": "x" * 300_000})
    assert form.status_code == 413
    assert "<p>form: the form is over the 262144-byte limit</p>" in form.text


async def test_the_sign_in_page_refuses_an_oversized_form_or_no_form(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/staff/login")
    huge = await client.post("/staff/login", data={"email": "x" * 300_000, "password": "p"})
    assert huge.status_code == 413
    assert "<p>form: the form is over the 262144-byte limit</p>" in huge.text
    json = await client.post("/staff/login", json={"email": "a@example.com"})
    assert json.status_code == 403
    assert "This address takes a form sent from the console." in json.text


BOUNDARY = "upload-boundary"


class _Multipart:
    """A console upload sent as it is made: the form's fields, then the file's part headers,
    then the file in pieces, with no Content-Length (chunked); it counts the pieces read."""

    def __init__(self, fields: list[tuple[str, str]], pieces: list[bytes]) -> None:
        self.fields, self.pieces, self.read = fields, pieces, 0

    def _field(self, name: str, value: str) -> bytes:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        return f"--{BOUNDARY}\r\n{disposition}\r\n\r\n{value}\r\n".encode()

    async def stream(self) -> AsyncIterator[bytes]:
        file_headers = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="march-1.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        )
        yield b"".join(self._field(n, v) for n, v in self.fields) + file_headers.encode()
        for piece in self.pieces:
            self.read += 1
            yield piece
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    async def post(self, client: httpx.AsyncClient, batch_id: int) -> httpx.Response:
        return await client.post(
            f"/staff/finance/batches/{batch_id}/events",
            content=self.stream(),
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )


async def _console_batch(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> tuple[int, str]:
    scene = await make_scene(client, make_token)
    batch_id = await scene.batch(
        await scene.policy({"kind": "coupon", "asset": "USDT", "amount": "5"})
    )
    await add_staff(database, StaffRole.finance, "fin-a@example.com")
    assert (await sign_in(client, "fin-a@example.com")).status_code == 303
    return batch_id, csrf_of((await client.get("/staff/finance")).text)


async def test_the_console_reads_no_file_before_the_csrf_token_checks_out(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    batch_id, _ = await _console_batch(client, database, make_token)
    small = [LINE.encode()] * 5  # within the limit: only the token is wrong
    for fields in ([("csrf", "not-the-token")], []):
        upload = _Multipart(fields, [HEADER.encode(), *small])
        refused = await upload.post(client, batch_id)
        assert refused.status_code == 403
        assert "<h1>The form had expired</h1>" in refused.text
        assert upload.read == 0  # not a byte of the file was read, let alone spooled
    page = await client.get(f"/staff/finance/batches/{batch_id}")
    assert "Intake so far: 0 events accepted, 0 left out, 0 lines refused." in page.text


async def test_the_console_takes_the_token_only_before_the_file(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    """The console's forms send the token first (its hidden field leads every form); a
    token after the file would mean reading the file to find it."""
    batch_id, csrf = await _console_batch(client, database, make_token)
    upload = _Multipart([], [HEADER.encode(), LINE.encode()])

    async def token_last() -> AsyncIterator[bytes]:
        async for piece in upload.stream():
            if piece.startswith(f"\r\n--{BOUNDARY}--".encode()):
                yield f"\r\n--{BOUNDARY}\r\n".encode()
                yield b'Content-Disposition: form-data; name="csrf"\r\n\r\n' + csrf.encode()
            yield piece

    refused = await client.post(
        f"/staff/finance/batches/{batch_id}/events",
        content=token_last(),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert refused.status_code == 403
    assert "<h1>The form had expired</h1>" in refused.text
    taken = await _Multipart([("csrf", csrf)], [HEADER.encode(), LINE.encode()]).post(
        client, batch_id
    )
    assert taken.status_code == 200, taken.text
    assert "Took march-1.csv: 1 event accepted, 0 left out, 0 lines refused." in taken.text


async def test_the_console_stops_reading_an_upload_at_the_limit_whatever_it_declares(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    batch_id, csrf = await _console_batch(client, database, make_token)
    pieces = [HEADER.encode()] + [LINE.encode()] * 1000  # some 66 KB in all
    upload = _Multipart([("csrf", csrf)], pieces)
    refused = await upload.post(client, batch_id)  # chunked: no Content-Length to trust
    assert refused.status_code == 413
    before = len(await anext(_Multipart([("csrf", csrf)], []).stream()))  # fields, headers
    over = next(n for n in range(len(pieces)) if before + len(b"".join(pieces[: n + 1])) > LIMIT)
    assert upload.read == over + 1  # the piece that passed the limit was the last one read
    assert f"<p>file: the file is over the {LIMIT}-byte limit</p>" in refused.text
    page = await client.get(f"/staff/finance/batches/{batch_id}")
    assert "Intake so far: 0 events accepted, 0 left out, 0 lines refused." in page.text
