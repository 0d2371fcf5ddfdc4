"""Subscribers' URLs cannot reach private addresses: refused when made through the staff API,
and refused on the address actually connected to when sending (ALLOW_PRIVATE_WEBHOOK_HOSTS
off, as it is by default)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable

import httpcore
import httpx
import pytest
from sqlalchemy import select

from incidents import flows
from incidents.broadcasting.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState
from incidents.broadcasting.schemas import SubscriptionIn
from incidents.broadcasting.subscriptions import create_subscription
from incidents.common.actor import Actor
from incidents.common.staff import StaffRole
from incidents.models import Component
from incidents.schemas import IncidentOpen
from statuspage.app import create_app
from statuspage.channels import egress
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.workers.delivery import DeliveryWorker
from tests.conftest import MakeToken
from tests.receivers import HttpReceiver

ACTOR = Actor(staff_id=None, default_language="en")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, allow_private_webhook_hosts=False, delivery_timeout_seconds=2.0
    )


# -- which addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104  (an address judged, not bound)
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:db8::1",
    ],
)
def test_private_addresses_are_refused(address: str) -> None:
    assert egress.private(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert egress.private(ipaddress.ip_address(address)) is False


# -- when a subscription is made --------------------------------------------------------------

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/hook",
    "http://LOCALHOST.:8080/hook",
    "http://status.localhost/hook",
    "http://0.0.0.0:9000/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "https://user@[fe80::1]/hook",
    "http://0177.1/hook",  # octal, as the system resolver reads it
    "http://0x7f.000.0.1/hook",
    "http://127\u30020\u30020\u30021/hook",  # ideographic full stops: the client reads 127.0.0.1
    "http://127.0.0.1\uff0e/hook",  # a full-width full stop at the end
]


@pytest.mark.parametrize("url", REFUSED_URLS)
@pytest.mark.parametrize("channel", ["webhook", "slack"])
async def test_the_staff_api_refuses_a_private_url(
    client: httpx.AsyncClient, support: dict[str, str], channel: str, url: str
) -> None:
    answer = await client.post(
        "/api/staff/subscriptions", json={"channel": channel, "url": url}, headers=support
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {
        "code": "validation_error",
        "message": "url: points to a private or local address",
        "field": "url",
        "fields": [{"field": "url", "message": "points to a private or local address"}],
    }
    listed = await client.get("/api/staff/subscriptions", headers=support)
    assert listed.json() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/status",
        "http://93.184.216.34:8080/hook",
        "https://localhost.example.com/hook",  # a name: judged when connecting
        "https://10.example.com/hook",
    ],
)
async def test_the_staff_api_takes_a_public_url(
    client: httpx.AsyncClient, support: dict[str, str], url: str
) -> None:
    answer = await client.post(
        "/api/staff/subscriptions", json={"channel": "webhook", "url": url}, headers=support
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["address"] == url


async def test_the_setting_lets_the_staff_api_take_a_private_url(
    settings: Settings, database: Database, make_token: MakeToken
) -> None:
    allowed = dataclasses.replace(settings, allow_private_webhook_hosts=True)
    app = create_app(allowed, database=database)
    token = await make_token(StaffRole.support)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post(
            "/api/staff/subscriptions",
            json={"channel": "webhook", "url": "http://127.0.0.1:9/hook"},
            headers={"Authorization": f"Bearer {token}"},
        )
    await app.running.cache.close()
    assert answer.status_code == 201, answer.text


# URLs the HTTP client cannot read, or reads but could never connect with: refused whatever
# ALLOW_PRIVATE_WEBHOOK_HOSTS says, since no attempt to send would ever succeed.
HOST = "its host must be a name or an IP address written the usual way"
PORT = "its port must be between 1 and 65535"
UNUSABLE_URLS = [
    ("http://0177.0.0.1/hook", HOST),  # a leading zero: octal to the resolver, not to httpx
    ("http://127.000.000.001/hook", HOST),
    ("http://[::ffff:0177.0.0.1]/hook", HOST),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/hook", HOST),  # full-width digits
    ("http://\u0661\u0662\u0667.\u0660.\u0660.\u0661/hook", HOST),  # Arabic-Indic digits
    ("http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/hook", HOST),  # full-width letters
    ("http://xn--zz.com/hook", HOST),  # not Punycode
    ("http://127.0.0.1%2f/hook", HOST),
    ("http://hooks.example.com:99999/hook", PORT),
    ("http://hooks.example.com:0/hook", PORT),
]


@pytest.mark.parametrize(("url", "reason"), UNUSABLE_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_the_staff_api_refuses_a_url_the_sender_cannot_use(
    settings: Settings,
    database: Database,
    make_token: MakeToken,
    url: str,
    reason: str,
    allow_private: bool,
) -> None:
    chosen = dataclasses.replace(settings, allow_private_webhook_hosts=allow_private)
    app = create_app(chosen, database=database)
    headers = {"Authorization": f"Bearer {await make_token(StaffRole.support)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post(
            "/api/staff/subscriptions", json={"channel": "webhook", "url": url}, headers=headers
        )
        listed = await client.get("/api/staff/subscriptions", headers=headers)
    await app.running.cache.close()
    assert answer.status_code == 422, answer.text
    message = f"is not a URL that can be sent to: {reason}"
    assert answer.json()["error"] == {
        "code": "validation_error",
        "message": f"url: {message}",
        "field": "url",
        "fields": [{"field": "url", "message": message}],
    }
    assert listed.json() == []


# -- when sending -----------------------------------------------------------------------------


async def _subscribe(database: Database, url: str) -> None:
    """A webhook subscription to `url`, made below the staff API (as one made before the
    check existed, or edited in the database, would be)."""
    async with database.sessionmaker() as session, session.begin():
        await create_subscription(
            session, data=SubscriptionIn(channel="webhook", url=url), actor=ACTOR
        )


async def _open_incident(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        component = Component(name="ETH wallet")
        session.add(component)
        await session.flush()
        data = IncidentOpen.model_validate(
            {
                "name": "ETH withdrawals delayed",
                "body": "Withdrawals are queued.",
                "components": {component.id: "partial_outage"},
            }
        )
        await flows.open_incident(session, data=data, actor=ACTOR)


async def _deliver(database: Database, settings: Settings) -> None:
    worker = DeliveryWorker(database, settings)  # its own clients, as in production
    try:
        await worker.drain()
    finally:
        await worker.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_the_worker_sends_nothing_to_a_name_that_leads_to_a_private_address(
    database: Database, settings: Settings, http_receiver: HttpReceiver, host: str
) -> None:
    await _subscribe(database, http_receiver.url("/hook").replace("127.0.0.1", host))
    await _open_incident(database)
    await _deliver(database, settings)
    assert http_receiver.received == []
    async with database.sessionmaker() as session:
        delivery = await session.scalar(select(Delivery))
        attempts = list(await session.scalars(select(DeliveryAttempt)))
    assert delivery is not None
    assert delivery.state == DeliveryState.failed
    assert [(a.outcome, a.status_code) for a in attempts] == [(AttemptOutcome.failed, None)]
    reason = f"refused: {host} resolves to a private address (127\\.0\\.0\\.1|::1)"
    assert re.fullmatch(reason, attempts[0].error or "")
    assert delivery.last_error == attempts[0].error


async def test_with_the_setting_the_worker_sends_to_a_private_address(
    database: Database, settings: Settings, http_receiver: HttpReceiver
) -> None:
    await _subscribe(database, http_receiver.url("/hook").replace("127.0.0.1", "localhost"))
    await _open_incident(database)
    await _deliver(database, dataclasses.replace(settings, allow_private_webhook_hosts=True))
    assert [got.path for got in http_receiver.received] == ["/hook"]
    async with database.sessionmaker() as session:
        delivery = await session.scalar(select(Delivery))
    assert delivery is not None
    assert delivery.state == DeliveryState.sent


async def test_the_operators_telegram_server_is_trusted_as_configured(
    client: httpx.AsyncClient,
    support: dict[str, str],
    database: Database,
    settings: Settings,
    http_receiver: HttpReceiver,
) -> None:
    made = await client.post(
        "/api/staff/subscriptions",
        json={
            "channel": "telegram",
            "bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "chat_id": "-100123",
        },
        headers=support,
    )
    assert made.status_code == 201, made.text
    await _open_incident(database)
    await _deliver(database, dataclasses.replace(settings, telegram_api_url=http_receiver.url("")))
    assert [got.path.rsplit("/", 1)[1] for got in http_receiver.received] == ["sendMessage"]


@pytest.mark.parametrize(
    "url", ["http://0177.0.0.1/hook", "http://\uff11\uff12\uff17.0.0.1/hook", "http://xn--zz.com/"]
)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_a_stored_url_the_sender_cannot_use_fails_at_the_first_attempt(
    database: Database, settings: Settings, url: str, allow_private: bool
) -> None:
    """A row made before the check (or edited in the database) is not retried for a day:
    no attempt can ever succeed."""
    await _subscribe(database, url)
    await _open_incident(database)
    await _deliver(
        database, dataclasses.replace(settings, allow_private_webhook_hosts=allow_private)
    )
    async with database.sessionmaker() as session:
        delivery = await session.scalar(select(Delivery))
        attempts = list(await session.scalars(select(DeliveryAttempt)))
    assert delivery is not None
    assert delivery.state == DeliveryState.failed
    assert [(a.outcome, a.status_code, a.error) for a in attempts] == [
        (AttemptOutcome.failed, None, f"refused: the URL cannot be sent to: {HOST}")
    ]
    assert delivery.last_error == attempts[0].error


# -- the connection itself --------------------------------------------------------------------


class _Recorder(httpcore.AsyncNetworkBackend):
    """Stands in for the network: records where it was asked to connect, connects nowhere."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        raise httpcore.ConnectError("not in this test")


async def test_each_connection_goes_to_a_resolved_public_address_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name that answers a public address and then a private one (DNS rebinding), or both
    at once: the private one is never connected to."""
    answers = [
        ["93.184.216.34"],
        ["10.0.0.5", "93.184.216.35"],
        ["169.254.169.254"],
    ]

    async def resolve(host: str, port: int, timeout: float | None) -> list[egress.IPAddress]:  # noqa: ASYNC109
        return [ipaddress.ip_address(address) for address in answers.pop(0)]

    monkeypatch.setattr(egress, "_resolve", resolve)
    backend = egress.GuardedBackend()
    recorder = _Recorder()
    backend._backend = recorder  # type: ignore[assignment]
    for _ in range(2):
        with pytest.raises(httpcore.ConnectError, match="not in this test"):
            await backend.connect_tcp("rebind.example", 443)
    with pytest.raises(
        egress.AddressRefused,
        match=r"^refused: rebind\.example resolves to a private address 169\.254\.169\.254$",
    ):
        await backend.connect_tcp("rebind.example", 443)
    assert recorder.hosts == ["93.184.216.34", "93.184.216.35"]
