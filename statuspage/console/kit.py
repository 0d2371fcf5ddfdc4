"""The staff console's edge: who may open which page (roles, second factor, CSRF on a POST),
the request each handler gets, and the pages it answers with. The session cookie is in
`sessions`, a POST's form and its errors in `posted`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from incidents.common.actor import Actor
from incidents.common.errors import DomainError
from incidents.common.staff import StaffRole
from statuspage import i18n
from statuspage.access import second_factor
from statuspage.config import Settings
from statuspage.console.posted import FormError, Refused, check_csrf, parse, read_form, read_upload
from statuspage.console.refusals import domain_message
from statuspage.console.sessions import Session, Staffer, live_staff, read_session
from statuspage.console.words import LANG_COOKIE, environment_for, gettext, language_of, ngettext
from statuspage.db import BUSY_RETRY_SECONDS, Database, lock_wait_exceeded
from statuspage.services import Services

# The security headers (CSP, frame-ancestors, no-referrer) come from the app's middleware.
_PAGE_HEADERS = {"cache-control": "no-store"}
T = TypeVar("T")


class LoginRequired(Exception):
    """No valid session: the person is sent to the sign-in page."""


class EnrolmentRequired(Exception):
    """Signed in, but the role needs a second factor and there is none yet: the person is sent
    to enrol one, and may do nothing else until then."""


def console_path(raw: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if raw.startswith("/staff/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/staff/"


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
    def language(self) -> str:
        """The staffer's own choice, else what their browser asks for."""
        return language_of(self.request, self.staffer.language, self.settings.default_language)

    def say(self, message: str, **params: object) -> str:
        """A message of the console's Python code (an error next to a field) in the staffer's
        language; `say` marks it for the catalogues as `_()` does in templates."""
        return gettext(self.language, message, **params)

    def say_n(self, singular: str, plural: str, num: int) -> str:
        """`say` for a count: `num` fills `%(num)d`."""
        return ngettext(self.language, singular, plural, num)

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

    def parse(self, model: type[BaseModel], data: dict[str, Any]) -> Any:
        """`data` validated by `model`; what is wrong, in the staffer's language."""
        return parse(model, data, self.language)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.database.reading() as session:
            return await work(session)

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Runs `work` in one transaction; domain and validation errors become a FormError."""
        try:
            async with self.database.sessionmaker() as session, session.begin():
                result = await work(session)
        except (DomainError, ValidationError) as error:
            raise FormError.of(error, self.language) from error
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
            language=self.language,
            **values,
        )

    def redirect(self, path: str, *, done: str = "") -> RedirectResponse:
        target = f"{path}?{urlencode({'done': done})}" if done else path
        return RedirectResponse(target, status_code=303)


def page(
    settings: Settings, request: Request, template: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    zone = ZoneInfo(settings.time_zone)
    me = values.get("me")
    language = values.pop("language", None) or language_of(
        request, me.language if me else None, settings.default_language
    )
    html = (
        environment_for(language)
        .get_template(template)
        .render(
            language=language,
            site_name=settings.site_names().get(language, settings.site_name),
            show_time=lambda moment: i18n.format_local(moment, zone),
            path=request.url.path,
            done=request.query_params.get("done", ""),
            errors=values.pop("errors", {}),
            **values,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)
    if request.query_params.get("lang") == language and me is None:
        # chosen before signing in (a link on the sign-in page): the public page's cookie
        response.set_cookie(LANG_COOKIE, language, max_age=31_536_000, samesite="lax")
    return response


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


# -- routes -------------------------------------------------------------------------------

Handler = Callable[[Console], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    """A console route: signed in, with one of `roles`, and a valid CSRF token on a POST;
    a Starlette route once bound to the services it runs on. Only `enrolling` pages are
    open to someone whose role needs a second factor they have not enrolled yet."""

    path: str
    handler: Handler
    roles: frozenset[StaffRole]
    methods: tuple[str, ...]
    upload: bool
    enrolling: bool = False

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
    enrolling: bool = False,
) -> Page:
    return Page(path, handler, roles, tuple(methods), upload, enrolling)


async def _endpoint(route: Page, services: Services, request: Request) -> Response:
    settings = services.settings
    try:
        console = await _enter(services, request, route)
        return await route.handler(console)
    except LoginRequired:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/staff/login?next={target}", status_code=303)
    except EnrolmentRequired:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/staff/second-factor?next={target}", status_code=303)
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
        said = domain_message(language_of(request, None, settings.default_language), error)
        return page(settings, request, "refused.html", status=error.status_code, reason=said)
    except FormError as error:  # a form with nowhere else to show its error
        return page(settings, request, "refused.html", status=error.status, reason=str(error))
    except DBAPIError as error:
        if not lock_wait_exceeded(error):
            raise
        busy = page(settings, request, "busy.html", status=503)
        busy.headers["retry-after"] = str(BUSY_RETRY_SECONDS)
        return busy


async def _enter(services: Services, request: Request, route: Page) -> Console:
    session = await read_session(services, request)
    if session is None or session.staff_id == 0:
        raise LoginRequired
    async with services.database.reading() as db:
        staff = await live_staff(db, session)
        found = await second_factor.find(db, staff_id=staff.id) if staff else None
    if staff is None:
        raise LoginRequired
    needed = second_factor.required(staff.role, services.settings.second_factor_roles())
    enrolled = found is not None
    staffer = Staffer(
        staff.id, staff.email, staff.name, staff.role, enrolled, needed, staff.language
    )
    if needed and not enrolled and not route.enrolling:
        raise EnrolmentRequired
    if not staffer.can(route.roles):
        raise Refused("role", staffer, session.csrf)
    console = Console(services, request, session, staffer)
    if request.method == "POST":
        console.form = await _posted(console, upload=route.upload)
    return console


async def _posted(console: Console, *, upload: bool) -> FormData:
    """The POST's form with its CSRF token checked; an upload's before its file is read."""
    session, staffer = console.session, console.staffer

    def checked(form: FormData) -> None:
        try:
            check_csrf(session, form)
        except Refused as refused:  # with their own navigation on the refusal page
            raise Refused(refused.reason, staffer, session.csrf) from refused

    request, limit = console.request, console.settings.max_upload_bytes
    form = await (
        read_upload(request, limit, before_file=checked) if upload else read_form(request)
    )
    try:
        checked(form)  # a form without a file, or one whose file never came
    except Refused:
        await form.close()  # an upload's spooled file
        raise
    return form
