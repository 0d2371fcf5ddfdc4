"""Security headers on every response: prepared once, added to cached entries at render time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere (templates load /static/site.css, /staff/console.css and
# /staff/console.js); nothing may frame our pages. Emails carry inline styles, but they are
# never served over HTTP.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The /embed frame: public notices only, so any site may frame it (nothing in it acts for the
# reader: no form, no session; its one button hides the banner, so framing it cannot trick
# anyone into a click that does anything). Its own script is /embed.js.
FRAMABLE_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors *"
)
HSTS = "max-age=31536000"
PUBLIC_REFERRER = "strict-origin-when-cross-origin"
# The console, the staff API and the subscription pages (their links carry a signed token)
# never tell another site where the reader came from. "/subscribe" is not a prefix of
# "/subscriptions/...", where the links from emails land: both are listed.
PRIVATE_REFERRER = "no-referrer"
_PRIVATE_PREFIXES = ("/staff", "/api/staff", "/subscribe", "/subscriptions/")

Headers = list[tuple[bytes, bytes]]


def for_response(*, https: bool, private: bool = False, framable: bool = False) -> Headers:
    """The security headers of one response, as ASGI header pairs."""
    policy = FRAMABLE_SECURITY_POLICY if framable else CONTENT_SECURITY_POLICY
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        *([] if framable else [(b"x-frame-options", b"DENY")]),
        (b"referrer-policy", (PRIVATE_REFERRER if private else PUBLIC_REFERRER).encode()),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def is_https(public_url: str) -> bool:
    return public_url.lower().startswith("https://")


def is_private(path: str) -> bool:
    return path.startswith(_PRIVATE_PREFIXES)


class SecurityHeaders:
    """ASGI middleware adding the headers to responses that were not prepared with them
    (cached public entries already carry them and pass untouched)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.public = for_response(https=https)
        self.private = for_response(https=https, private=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.private if is_private(scope["path"]) else self.public

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A response with a policy of its own (a cached entry) was prepared whole.
                prepared = b"content-security-policy" in present
                missing = [] if prepared else [p for p in extra if p[0] not in present]
                if missing:
                    message = {**message, "headers": headers + missing}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def server_error_handler(https: bool) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The 500 answer (Starlette sends it outside every middleware), with the headers."""

    async def server_error(request: Request, _error: Exception) -> Response:
        headers = for_response(https=https, private=is_private(request.url.path))
        response = PlainTextResponse("Internal Server Error", status_code=500)
        response.raw_headers.extend(headers)
        return response

    return server_error
