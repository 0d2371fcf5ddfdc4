"""Email subscription pages for account holders: subscribe, confirm, manage, unsubscribe.

Links in emails open a page with a button; only the button's POST acts, so a mail scanner
that fetches every link confirms or unsubscribes nobody. The unsubscribe URL also takes the
RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) that mail clients send themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from incidents import networks, service
from incidents.broadcasting import subscriptions as subscription_flows
from incidents.broadcasting.models import Subscription
from incidents.broadcasting.rules import Link
from incidents.broadcasting.schemas import PublicSubscribeIn
from incidents.common.db_types import utcnow
from incidents.common.errors import DomainError
from incidents.schemas import LANGUAGES
from statuspage.access import rate_limits
from statuspage.access.client_address import client_address
from statuspage.access.rate_limits import Window
from statuspage.access.signing import Signer
from statuspage.channels.emails import CONFIRM_FOR
from statuspage.i18n import localized_name
from statuspage.public.cache import PublicCache, language_for
from statuspage.public.pages import render_html
from statuspage.services import Services

MAX_FORM_BYTES = 16_384
# Per client address: this many subscribe requests in this many seconds, counted in the
# database (so across every instance): enough to stop a script mailing confirmation links to
# a list of strangers through us.
SUBSCRIBE_LIMIT = Window("subscribe", 5, 600.0)
# Per recipient (the address in lower case), whoever asks and from however many networks:
# this many confirmation requests an hour, so nobody can fill a stranger's inbox through us.
RECIPIENT_LIMIT = Window("subscribe-recipient", 3, 3600.0)


@dataclass(frozen=True)
class _Wing:
    """What the subscription pages run on."""

    services: Services
    cache: PublicCache


def routes(services: Services, cache: PublicCache) -> list[Route]:
    wing = _Wing(services, cache)
    return [
        Route("/subscribe", partial(_subscribe, wing), methods=["GET", "POST"]),
        Route("/subscriptions/confirm", partial(confirm, wing), methods=["GET", "POST"]),
        Route("/subscriptions/manage", partial(manage, wing), methods=["GET", "POST"]),
        Route("/subscriptions/unsubscribe", partial(unsubscribe, wing), methods=["GET", "POST"]),
    ]


# -- helpers ------------------------------------------------------------------------------


async def _page(
    wing: _Wing,
    request: Request,
    template: str,
    *,
    status: int = 200,
    lang: str | None = None,
    **values: Any,
) -> Response:
    state = await wing.cache.state()
    chosen = lang or _language(request, state.site.default_language)
    html = render_html(state, chosen, template, path=request.url.path, **values)
    return HTMLResponse(
        html,
        status_code=status,
        headers={"cache-control": "no-store"},  # the middleware adds no-referrer
    )


async def _form(request: Request) -> list[tuple[str, str]] | None:
    """The url-encoded form, or None when it is over the size limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


async def _signer(wing: _Wing) -> Signer:
    return Signer(await wing.services.keys.site())


async def _components(wing: _Wing, lang: str) -> list[dict[str, Any]]:
    async with wing.services.database.reading() as session:
        components = await service.list_components(session)
    return [
        {"id": component.id, "name": localized_name(component, lang)}
        for component in components
        if component.showcase and not component.hidden
    ]


async def _networks(wing: _Wing) -> list[dict[str, str]]:
    """The assets on networks a holder may pick, as the matrix lists them (shown ones)."""
    async with wing.services.database.reading() as session:
        components = await service.list_components(session)
    rows = networks.matrix(c for c in components if c.showcase and not c.hidden)
    return [
        {"asset": r.asset, "network": r.network, "value": f"{r.asset}|{r.network}"} for r in rows
    ]


async def _network_ids(wing: _Wing, form: list[tuple[str, str]]) -> list[int] | None:
    """The components of each asset on a network ticked (`networks=USDT|TRC20`), both ways
    or the one `direction` names; None when a choice names nothing on the page."""
    picked = [value for name, value in form if name == "networks"]
    direction = dict(form).get("direction")
    try:
        choices = [
            networks.NetworkChoice(
                asset=value.partition("|")[0],
                network=value.partition("|")[2],
                direction=direction if direction in {"deposit", "withdrawal"} else None,
            )
            for value in picked
        ]
    except ValidationError:
        return None
    async with wing.services.database.reading() as session:
        components = [
            c for c in await service.list_components(session) if c.showcase and not c.hidden
        ]
    ids: list[int] = []
    for choice in choices:
        found = networks.components_on(components, choice)
        if not found:
            return None
        ids += [component.id for component in found]
    return ids


async def _hidden_in(wing: _Wing, ids: list[int]) -> str | None:
    """The field of the first hidden component a choice names, if any, as the flows name an
    unknown id: the public forms refuse it as one that does not exist, telling nothing."""
    async with wing.services.database.reading() as session:
        hidden = {c.id for c in await service.list_components(session) if c.hidden}
    return next((f"component_ids.{c}" for c in ids if c in hidden), None)


def _language(request: Request, default: str) -> str:
    headers = {name.lower(): value for name, value in request.scope["headers"]}
    return language_for(request.url.path, dict(request.query_params), headers, default)


def _chosen_language(fields: dict[str, str]) -> str:
    chosen = fields.get("language", "")
    return chosen if chosen in LANGUAGES else "en"


# -- subscribe ----------------------------------------------------------------------------


async def _subscribe(wing: _Wing, request: Request) -> Response:
    lang = _language(request, wing.cache.site.default_language)
    components = await _components(wing, lang)
    listed = await _networks(wing)
    if request.method == "GET":
        return await _page(
            wing, request, "subscribe.html", components=components, networks=listed, form_lang=lang
        )
    form = await _form(request)
    if form is None:
        return PlainTextResponse("the form is over the size limit", status_code=413)
    fields = dict(form)
    chosen = [value for name, value in form if name == "component_ids"]
    values: dict[str, Any] = {
        "components": components,
        "networks": listed,
        "form_lang": fields.get("language", lang),
        "email": fields.get("email", ""),
        "chosen": chosen,
        "chosen_networks": [value for name, value in form if name == "networks"],
        "direction": fields.get("direction", ""),
    }
    on_networks = await _network_ids(wing, form)
    if on_networks is None:
        return await _page(wing, request, "subscribe.html", status=422, error="networks", **values)
    chosen = list(dict.fromkeys([*chosen, *map(str, on_networks)]))
    try:
        data = PublicSubscribeIn.model_validate(
            {
                "email": fields.get("email", ""),
                "language": fields.get("language") if fields.get("language") in LANGUAGES else lang,
                "component_ids": [int(value) for value in chosen if value.isdigit()],
            }
        )
    except ValidationError:
        return await _page(wing, request, "subscribe.html", status=422, error="email", **values)
    database = wing.services.database
    client = client_address(request, wing.services.settings)
    async with database.sessionmaker() as session, session.begin():
        allowed = await _within_limits(session, client=client, recipient=data.email)
    if not allowed:
        return await _page(wing, request, "subscribe.html", status=429, error="rate", **values)
    if hidden := await _hidden_in(wing, data.component_ids):
        return await _page(wing, request, "subscribe.html", status=422, error=hidden, **values)
    try:
        async with database.sessionmaker() as session, session.begin():
            await subscription_flows.subscribe_email(session, data=data, now=utcnow())
    except DomainError as error:
        return await _page(
            wing, request, "subscribe.html", status=error.status_code, error=error.field, **values
        )
    await wing.services.after_write()
    return await _page(
        wing,
        request,
        "subscribe_done.html",
        lang=data.language,
        message=("subscribe.check_inbox", {"email": data.email, "hours": _confirm_hours()}),
        chose=_chose(data, await _components(wing, data.language)),
    )


def _chose(data: PublicSubscribeIn, components: list[dict[str, Any]]) -> dict[str, Any]:
    """What the confirmation page repeats of the choice: the components by name, in the
    page's order (none: every component), and the language of the messages."""
    wanted = set(data.component_ids)
    names = [component["name"] for component in components if component["id"] in wanted]
    return {"components": names, "language": data.language}


async def _within_limits(session: AsyncSession, *, client: str, recipient: str) -> bool:
    """Counts the request against the client's limit and the recipient's at once (reserved,
    so concurrent requests cannot slip past); False (and the same 429 for either, so the
    answer tells nothing about the address) when one is full, and then neither counts.
    Every request counts for its recipient, confirmed or not, for the same reason."""
    attempts = [(SUBSCRIBE_LIMIT, client), (RECIPIENT_LIMIT, recipient)]
    counted = await rate_limits.reserve(session, attempts, now=utcnow())
    return not isinstance(counted, rate_limits.Full)


def _confirm_hours() -> int:
    return int(CONFIRM_FOR.total_seconds() // 3600)


# -- confirm, manage, unsubscribe ---------------------------------------------------------


async def _read(wing: _Wing, request: Request, purpose: str) -> Link | None:
    """What the link's token names, if it is signed for `purpose` and has not expired;
    whether it still opens a row is the flows' to say."""
    token = request.query_params.get("token", "")
    try:
        claims = (await _signer(wing)).claims(purpose, token, now=utcnow())
    except DomainError:
        return None
    return Link(claims.subject, claims.version, claims.nonce, confirms=purpose == "confirm")


async def _opened(wing: _Wing, link: Link) -> Subscription | None:
    """The subscription the link opens, or None (gone, revoked, or never its row)."""
    async with wing.services.database.reading() as session:
        try:
            return await subscription_flows.linked(session, link=link)
        except DomainError:
            return None


async def _invalid(wing: _Wing, request: Request) -> Response:
    return await _page(
        wing, request, "subscribe_done.html", status=400, message=("subscribe.link_invalid", {})
    )


async def confirm(wing: _Wing, request: Request) -> Response:
    link = await _read(wing, request, "confirm")
    if link is None:
        return await _invalid(wing, request)
    token = request.query_params["token"]
    if request.method == "GET":
        if await _opened(wing, link) is None:
            return await _invalid(wing, request)
        return await _page(wing, request, "subscription_action.html", action="confirm", token=token)
    database = wing.services.database
    try:
        async with database.sessionmaker() as session, session.begin():
            subscription = await subscription_flows.confirm(session, link=link, now=utcnow())
            email, lang = subscription.address, subscription.language
    except DomainError:
        return await _invalid(wing, request)
    return await _page(
        wing,
        request,
        "subscribe_done.html",
        lang=lang,
        message=("subscribe.confirmed", {"email": email}),
    )


async def manage(wing: _Wing, request: Request) -> Response:
    link = await _read(wing, request, "manage")
    if link is None:
        return await _invalid(wing, request)
    token = request.query_params["token"]
    saved = False
    if request.method == "POST":
        form = await _form(request)
        if form is None:
            return PlainTextResponse("the form is over the size limit", status_code=413)
        fields = dict(form)
        ids = [int(value) for name, value in form if name == "component_ids" and value.isdigit()]
        if await _hidden_in(wing, ids):
            return await _invalid(wing, request)  # as for an id that does not exist
        try:
            async with wing.services.database.sessionmaker() as session, session.begin():
                await subscription_flows.set_preferences(
                    session, link=link, language=_chosen_language(fields), component_ids=ids
                )
        except DomainError:
            return await _invalid(wing, request)
        saved = True
    subscription = await _opened(wing, link)
    if subscription is None:
        return await _invalid(wing, request)
    lang = subscription.language
    return await _page(
        wing,
        request,
        "subscription_manage.html",
        lang=lang,
        token=token,
        saved=saved,
        email=subscription.address,
        components=await _components(wing, lang),
        chosen=[str(component.id) for component in subscription.components],
        form_lang=lang,
        unsubscribe_token=(await _signer(wing)).make(
            "unsubscribe", subscription.id, subscription.token_version, nonce=subscription.nonce
        ),
    )


async def unsubscribe(wing: _Wing, request: Request) -> Response:
    link = await _read(wing, request, "unsubscribe")
    if link is None:
        return await _invalid(wing, request)
    token = request.query_params["token"]
    if request.method == "GET":
        subscription = await _opened(wing, link)
        if subscription is None:
            return await _invalid(wing, request)
        return await _page(
            wing,
            request,
            "subscription_action.html",
            lang=subscription.language,
            action="unsubscribe",
            token=token,
            email=subscription.address,
        )
    try:
        async with wing.services.database.sessionmaker() as session, session.begin():
            await subscription_flows.unsubscribe(session, link=link)
    except DomainError:
        pass  # already gone: unsubscribing twice is still unsubscribed
    return await _page(wing, request, "subscribe_done.html", message=("subscribe.unsubscribed", {}))
