"""The staff console's edge: signed session cookies, CSRF, roles, forms and pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.errors import DomainError
from incidents.common.staff import Staff, StaffRole
from statuspage import i18n
from statuspage.access import staff_accounts, staff_sessions
from statuspage.access.signing import InvalidToken, Signer
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.services import Services
from statuspage.templating import environment

COOKIE = "staff_session"
SESSION_SECONDS = 12 * 3600  # a shift; then sign in again
# The cookie is a Signer token of its own purpose: no subscriber's email link (confirm, manage,
# unsubscribe) reads as a session, and no session reads as a link.
SESSION_PURPOSE = "staff-session"
MAX_FORM_BYTES = 262_144
# The security headers (CSP, frame-ancestors, no-referrer) come from the app's middleware.
_PAGE_HEADERS = {"cache-control": "no-store"}
T = TypeVar("T")

_env = environment("console")


class LoginRequired(Exception):
    """No valid session: the person is sent to the sign-in page."""


class Refused(Exception):
    """Signed in, but this page or action is not theirs (403), or the form is stale (CSRF)."""

    def __init__(self, reason: str, staffer: Staffer | None = None, csrf: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.staffer, self.csrf = staffer, csrf  # their own navigation on the refusal page


class FormError(Exception):
    """What was wrong with a form, by field name ("" for the form as a whole)."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors
        self.status = status

    @classmethod
    def of(cls, error: DomainError | ValidationError) -> FormError:
        if isinstance(error, ValidationError):
            found: dict[str, str] = {}
            for item in error.errors():
                name = ".".join(str(part) for part in item["loc"])
                found.setdefault(name, _message(item["type"], str(item["msg"])))
            return cls(found)
        return cls({error.field or "": error.message}, status=error.status_code)


def _message(kind: str, text: str) -> str:
    if kind == "missing" or (kind == "string_too_short" and "at least 1 character" in text):
        return "this field is required"
    return text.removeprefix("Value error, ")


# -- the session cookie -------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    staff_id: int  # 0 before sign-in: the cookie then only carries the CSRF token's key
    version: int
    # Random; once signed in, the server keeps its digest (`access.staff_sessions`).
    key: str
    issued: int

    @property
    def csrf(self) -> str:
        """The forms' token, made from the key: a page shows it without giving the key away."""
        mac = hmac.new(self.key.encode(), b"staff-csrf", hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode()

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.issued + SESSION_SECONDS, UTC)

    @classmethod
    def anonymous(cls) -> Session:
        return cls(0, 0, staff_sessions.new_key(), int(time.time()))


async def _signer(services: Services) -> Signer:
    return Signer(await services.keys.site())


async def read_session(services: Services, request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 512:
        return None
    try:
        claims = (await _signer(services)).claims(SESSION_PURPOSE, raw, now=datetime.now(UTC))
    except InvalidToken:  # tampered, another purpose's token, another key, or expired
        return None
    if not claims.nonce or not claims.expires:
        return None
    issued = claims.expires - SESSION_SECONDS
    return Session(claims.subject, claims.version, claims.nonce, issued)


async def set_session(services: Services, response: Response, session: Session | None) -> None:
    """Writes (or, with None, clears) the cookie: HttpOnly, SameSite=Lax, scoped to /staff."""
    secure = services.settings.public_url.startswith("https://")
    if session is None:
        response.delete_cookie(COOKIE, path="/staff", secure=secure, httponly=True)
        return
    value = (await _signer(services)).make(
        SESSION_PURPOSE, session.staff_id, session.version, session.expires, nonce=session.key
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/staff",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


# -- who is signed in ---------------------------------------------------------------------


@dataclass(frozen=True)
class Staffer:
    id: int
    email: str
    name: str
    role: StaffRole

    def can(self, roles: frozenset[StaffRole]) -> bool:
        return self.role == StaffRole.admin or self.role in roles


@dataclass
class Console:
    """One console request: what it runs on, who makes it, their session, the parsed form."""

    services: Services
    request: Request
    session: Session
    staffer: Staffer
    form: FormData = field(default_factory=FormData)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.time_zone)

    def actor(self) -> Actor:
        return Actor(staff_id=self.staffer.id, default_language=self.settings.default_language)

    def id(self, name: str) -> int:
        value = int(self.request.path_params[name])
        if not 1 <= value <= 2**31 - 1:
            raise DomainError(f"{name} {value} does not exist", field=name)
        return value

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        return [value for value in self.form.getlist(name) if isinstance(value, str)]

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.database.reading() as session:
            return await work(session)

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Runs `work` in one transaction; domain and validation errors become a FormError."""
        try:
            async with self.database.sessionmaker() as session, session.begin():
                result = await work(session)
        except (DomainError, ValidationError) as error:
            raise FormError.of(error) from error
        await self.services.after_write()
        return result

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        return page(
            self.settings,
            self.request,
            template,
            status=status,
            me=self.staffer,
            csrf=self.session.csrf,
            zone=self.zone,
            **values,
        )

    def redirect(self, path: str, *, done: str = "") -> RedirectResponse:
        target = f"{path}?{urlencode({'done': done})}" if done else path
        return RedirectResponse(target, status_code=303)


def page(
    settings: Settings, request: Request, template: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    zone = ZoneInfo(settings.time_zone)
    html = _env.get_template(template).render(
        site_name=settings.site_name,
        show_time=lambda moment: i18n.format_local(moment, zone),
        path=request.url.path,
        done=request.query_params.get("done", ""),
        errors=values.pop("errors", {}),
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def placed(errors: dict[str, str], form: str, fields: Iterable[str]) -> dict[str, str]:
    """Errors of one of a page's forms: those of its own fields named `form.field` (shown
    next to them), the rest together at the top of the page."""
    known = set(fields)
    found: dict[str, str] = {}
    for name, text in errors.items():
        if name.split(".")[0] in known:
            found[f"{form}.{name}"] = text
        else:
            found[""] = f"{found['']} {text}".strip() if "" in found else text
    return found


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormError.of(error) from error


def local_time(text: str, zone: ZoneInfo, name: str) -> datetime | None:
    """A `datetime-local` input, read in the site's time zone; empty means none."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError as error:
        raise FormError({name: "enter a date and time like 2026-03-01 14:30"}) from error


# -- routes -------------------------------------------------------------------------------

Handler = Callable[[Console], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    """A console route: signed in, with one of `roles`, and a valid CSRF token on a POST;
    a Starlette route once bound to the services it runs on."""

    path: str
    handler: Handler
    roles: frozenset[StaffRole]
    methods: tuple[str, ...]
    upload: bool

    def bind(self, services: Services) -> Route:
        return Route(
            "/staff" + self.path, partial(_endpoint, self, services), methods=list(self.methods)
        )


def route(
    path: str,
    handler: Handler,
    roles: frozenset[StaffRole],
    methods: Iterable[str] = ("GET",),
    *,
    upload: bool = False,
) -> Page:
    return Page(path, handler, roles, tuple(methods), upload)


async def _endpoint(route: Page, services: Services, request: Request) -> Response:
    settings = services.settings
    try:
        console = await _enter(services, request, route.roles, upload=route.upload)
        return await route.handler(console)
    except LoginRequired:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/staff/login?next={target}", status_code=303)
    except Refused as refused:
        return page(
            settings,
            request,
            "refused.html",
            status=403,
            reason=refused.reason,
            me=refused.staffer,
            csrf=refused.csrf,
        )
    except DomainError as error:
        return page(
            settings, request, "refused.html", status=error.status_code, reason=error.message
        )
    except FormError as error:  # a form with nowhere else to show its error
        return page(settings, request, "refused.html", status=error.status, reason=str(error))


async def _enter(
    services: Services, request: Request, roles: frozenset[StaffRole], *, upload: bool
) -> Console:
    session = await read_session(services, request)
    if session is None or session.staff_id == 0:
        raise LoginRequired
    staff = await signed_in_staff(services, session)
    if staff is None:
        raise LoginRequired
    staffer = Staffer(staff.id, staff.email, staff.name, staff.role)
    if not staffer.can(roles):
        raise Refused("role", staffer, session.csrf)
    console = Console(services, request, session, staffer)
    if request.method == "POST":
        upload_limit = services.settings.max_upload_bytes
        console.form = await (read_upload(request, upload_limit) if upload else read_form(request))
        try:
            check_csrf(session, console.form)
        except Refused as refused:
            await console.form.close()  # an upload's spooled file
            raise Refused(refused.reason, staffer, session.csrf) from refused
    return console


async def signed_in_staff(services: Services, session: Session) -> Staff | None:
    """Who the session is of, while it is live on the server (not signed out, not ended by a
    new password or deactivation) and the account may still use the console."""
    if session.staff_id == 0:
        return None
    async with services.database.reading() as db:
        staff = await staff_sessions.staff_of(
            db, key=session.key, staff_id=session.staff_id, now=datetime.now(UTC)
        )
    return staff if staff_accounts.session_is_current(staff, session.version) else None


def check_csrf(session: Session, form: FormData) -> None:
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf):
        raise Refused("csrf")


async def read_form(request: Request) -> FormData:
    """A url-encoded form, read up to MAX_FORM_BYTES (over it: refused)."""
    kind = request.headers.get("content-type", "")
    if kind and not kind.startswith("application/x-www-form-urlencoded"):
        raise Refused("form")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError({"form": f"the form is over the {MAX_FORM_BYTES}-byte limit"}, 413)
    pairs: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    )
    return FormData(pairs)


async def read_upload(request: Request, limit: int) -> FormData:
    """A multipart form with one file; Starlette spools the file to disk as it arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FormError({"file": f"the file is over the {limit}-byte limit"}, 413)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Refused("form")
    return await request.form(max_files=1, max_fields=20)
