"""Real receivers for broadcast tests: an HTTP server and an SMTP server on free local ports,
each in its own thread, recording what arrives and answering as the test scripts them."""

from __future__ import annotations

import email
import email.policy
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a worker opening 16 connections
    # at once; the sender's TCP retries a second later, which a short delivery timeout (the
    # crash tests') counts as no answer (a retry 20-30 s later).
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the sender died mid-request (the crash tests kill it on purpose)
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class HttpReceiver:
    """Records every POST (and GET: a source an import reads); answers with the next scripted
    reply, then with `default` (or what `answer` says)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.answer: Callable[[Received], Reply] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out in two writes: with Nagle's algorithm the body
            # waited for the sender's delayed ACK of the headers, 40 ms a reply.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing arrived
                    self.close_connection = True
                    return
                self._reply(body)

            def do_GET(self) -> None:
                self._reply(b"")

            def _reply(self, body: bytes) -> None:
                got = Received(
                    self.path, {name.lower(): value for name, value in self.headers.items()}, body
                )
                reply = receiver._take(got)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _take(self, got: Received) -> Reply:
        with self._lock:
            self.received.append(got)
            if self.answer is not None:
                return self.answer(got)
            return self.script.pop(0) if self.script else self.default

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def to(self, path: str) -> list[Received]:
        return [got for got in self.received if got.path.split("?")[0] == path]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.raw: list[bytes] = []  # each message as it came over the wire
        self.refuse: dict[str, str] = {}  # recipient → SMTP reply, e.g. "550 no such user"
        self.sessions = 0  # connections that said EHLO

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        self.raw.append(envelope.original_content)
        return "250 Message accepted"


class SmtpReceiver:
    """aiosmtpd on a free port: every message it accepts, parsed."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return self.inbox.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if address in recipients]

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def restart(self) -> None:
        """As a mail server restart does: every open session is cut, then it listens again."""
        self._controller.stop()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()


def running_http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


def running_smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
