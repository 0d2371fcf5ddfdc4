"""Sending one message: over the pooled HTTP client or to the SMTP server, timed and judged."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
import httpx

from incidents.broadcast_models import Channel
from incidents.broadcast_rules import Verdict, judge_http, judge_smtp
from statuspage.config import Settings
from statuspage.outgoing import Outgoing, platform_error


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
        response = await client.post(
            request.url, content=request.body, headers=request.headers, timeout=timeout
        )
    except httpx.TimeoutException:
        return Result(Verdict.retry, None, _since(started), f"no answer within {timeout:g} s")
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


async def send_email(
    email: EmailMessage,
    *,
    settings: Settings,
    timeout: float,  # noqa: ASYNC109
) -> Result:
    started = time.perf_counter()
    try:
        errors, _reply = await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:  # our one recipient was refused
        refused = error.recipients[0]
        return Result(
            judge_smtp(refused.code),
            refused.code,
            _since(started),
            f"SMTP {refused.code}: {refused.message}",
        )
    except aiosmtplib.SMTPResponseException as error:
        verdict = judge_smtp(error.code)
        return Result(verdict, error.code, _since(started), f"SMTP {error.code}: {error.message}")
    except (aiosmtplib.SMTPException, OSError) as error:
        return Result(Verdict.retry, None, _since(started), _describe(error))
    if errors:  # the one recipient was refused
        code, text = next(iter(errors.values()))
        return Result(judge_smtp(code), code, _since(started), f"SMTP {code}: {text}")
    return Result(Verdict.sent, 250, _since(started))


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500] if str(error) else type(error).__name__


def _retry_after(response: httpx.Response) -> timedelta | None:
    raw = response.headers.get("retry-after", "")
    return timedelta(seconds=int(raw)) if raw.isdigit() else None
