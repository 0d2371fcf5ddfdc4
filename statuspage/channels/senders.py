"""Sending one message: over the pooled HTTP client or to the SMTP server, timed and judged."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta

import aiosmtplib
import httpx

from incidents.broadcasting.models import Channel
from incidents.broadcasting.rules import Verdict, judge_http, judge_smtp
from statuspage.channels.egress import AddressRefused, UnusableUrl, sendable
from statuspage.channels.formats import Outgoing, platform_error
from statuspage.channels.mime import Email
from statuspage.config import Settings


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after: timedelta | None = None


async def send_http(
    client: httpx.AsyncClient,
    request: Outgoing,
    *,
    channel: Channel,
    timeout: float,  # noqa: ASYNC109  (per attempt, recorded)
) -> Result:
    started = time.perf_counter()
    try:
        url = sendable(request.url)  # the URL as judged when the subscription was made
    except UnusableUrl as error:
        # No attempt can succeed (a row from before the check, or edited in the database):
        # it fails now instead of being retried for a day.
        return Result(Verdict.failed, None, 0, f"refused: the URL cannot be sent to: {error}")
    try:
        # httpx times each phase (pool, connect, write, read) on its own; the attempt as a
        # whole gets the same limit, so a claimed row is done well within its lease.
        async with asyncio.timeout(timeout):
            response = await client.post(
                url, content=request.body, headers=request.headers, timeout=timeout
            )
    except (httpx.TimeoutException, TimeoutError):
        return Result(Verdict.retry, None, _since(started), f"no answer within {timeout:g} s")
    except AddressRefused as error:
        # The name leads to a private address: sending again will not change that, so the
        # delivery fails now (and counts towards disabling the subscription).
        return Result(Verdict.failed, None, _since(started), str(error))
    except httpx.HTTPError as error:
        return Result(Verdict.retry, None, _since(started), _describe(error))
    latency = _since(started)
    verdict = judge_http(response.status_code)
    if verdict == Verdict.sent:
        refused = platform_error(channel, response.content)
        if refused is not None:
            retry, description = refused
            return Result(
                Verdict.retry if retry else Verdict.failed,
                response.status_code,
                latency,
                description,
            )
        return Result(Verdict.sent, response.status_code, latency)
    return Result(
        verdict,
        response.status_code,
        latency,
        f"HTTP {response.status_code}: {response.text[:300]}",
        _retry_after(response),
    )


class SmtpPool:
    """SMTP sessions kept open across messages: connecting, EHLO, STARTTLS and login happen
    once per connection rather than once per email. At most `size` connections at a time; a
    message waits for a free one within its own timeout. A session that fails is closed, and
    the next message opens a new one."""

    def __init__(self, settings: Settings, *, size: int) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def send(self, email: Email, *, timeout: float) -> Result:  # noqa: ASYNC109
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout), self._slots:
                return await self._send(email, started)
        except TimeoutError:
            return Result(Verdict.retry, None, _since(started), f"no answer within {timeout:g} s")

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit(timeout=1)
            client.close()

    async def _send(self, email: Email, started: float) -> Result:
        client: aiosmtplib.SMTP | None = None
        keep = False
        try:
            client = await self._reused(email)
            if client is None:
                client = await self._connect()
                await _mail(client, email)
            result = await _transaction(client, email, started)
            keep = result.verdict == Verdict.sent or await _reset(client)
            return result
        except (aiosmtplib.SMTPException, OSError) as error:
            code = error.code if isinstance(error, aiosmtplib.SMTPResponseException) else None
            if code is not None and client is not None:
                keep = await _reset(client)
            return Result(
                judge_smtp(code) if code else Verdict.retry,
                code,
                _since(started),
                _describe_smtp(error),
            )
        finally:
            if client is not None and keep:
                self._idle.append(client)
            elif client is not None:
                client.close()

    async def _reused(self, email: Email) -> aiosmtplib.SMTP | None:
        """A kept session with this message's MAIL FROM accepted, or None. A session the
        server has closed meanwhile (or is closing: 421) is dropped; nothing of the message
        had gone out, so it goes on a new one."""
        while self._idle:
            client = self._idle.pop()
            try:
                if client.is_connected:
                    await _mail(client, email)
                    return client
            except aiosmtplib.SMTPServerDisconnected:
                pass
            except aiosmtplib.SMTPNotSupported:  # said before MAIL: the session is fine
                self._idle.append(client)
                raise
            except aiosmtplib.SMTPResponseException as error:
                if error.code != 421:
                    if not await _reset(client):
                        client.close()
                        raise
                    self._idle.append(client)
                    raise
            except BaseException:
                client.close()
                raise
            client.close()
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
        )
        await client.connect()
        return client


async def _mail(client: aiosmtplib.SMTP, email: Email) -> None:
    options = []
    if email.utf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "an address is not ASCII and the server does not offer SMTPUTF8"
            )
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    if client.supports_extension("size"):
        options.append(f"SIZE={len(email.content)}")
    await client.mail(email.sender, options=options, encoding="utf-8" if email.utf8 else "ascii")


async def _transaction(client: aiosmtplib.SMTP, email: Email, started: float) -> Result:
    """RCPT and DATA, after MAIL FROM was accepted."""
    try:
        await client.rcpt(email.recipient, encoding="utf-8" if email.utf8 else "ascii")
    except aiosmtplib.SMTPRecipientRefused as refused:
        return Result(
            judge_smtp(refused.code),
            refused.code,
            _since(started),
            f"SMTP {refused.code}: {refused.message}",
        )
    await client.data(email.content)
    return Result(Verdict.sent, 250, _since(started))


async def _reset(client: aiosmtplib.SMTP) -> bool:
    """After a refusal: RSET, so the session can carry the next message. False if it can't."""
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        return False
    return True


def _describe_smtp(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"SMTP {error.code}: {error.message}"[:500]
    return _describe(error)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500] if str(error) else type(error).__name__


def _retry_after(response: httpx.Response) -> timedelta | None:
    raw = response.headers.get("retry-after", "")
    return timedelta(seconds=int(raw)) if raw.isdigit() else None
