"""Public responses rendered once per change and served as cached bytes.

Each entry (`statuspage.public.responses`) holds the body plain and gzipped with a strong ETag.
The cache is emptied when the public version (a row bumped by every public change) moves: at
once after a write through this process, and within `poll_interval` for writes made elsewhere.
Entries also expire after `max_age` so pages that show "today" (uptime bars, upcoming
maintenance) roll over.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from incidents import publication
from incidents.models import Incident, Maintenance
from incidents.schemas import LANGUAGES
from statuspage import i18n
from statuspage.db import Database
from statuspage.public.responses import LANG_COOKIE, Entry, Incoming, send_entry, surface
from statuspage.public.state import PublicState, load
from statuspage.site import Site

log = logging.getLogger(__name__)

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Archive:
    """Published incidents and maintenances loaded ahead, by shortlink: the static export
    reads every old one in one query instead of one query per page."""

    incidents: Mapping[str, Incident] = field(default_factory=dict)
    maintenances: Mapping[str, Maintenance] = field(default_factory=dict)


@dataclass
class RenderContext:
    """What a render function gets: the state, the reader's language and the clean params."""

    state: PublicState
    language: str
    params: dict[str, str]
    database: Database
    archive: Archive = field(default_factory=Archive)


Render = Callable[[RenderContext], Awaitable[Entry]]

# How many of the most read pages are rendered again as soon as the public version moves.
HOT_KEYS = 32
# How many variants (query filters by languages) of one path are kept: past that a filter is
# rendered for its reader and not kept, so many distinct filters (`components=` subsets)
# cannot crowd out the rest of the site.
MAX_VARIANTS_PER_PATH = 1_000


@dataclass
class PublicCache:
    database: Database
    site: Site
    poll_interval: float = 1.0
    max_age: float = 60.0
    max_entries: int = 20_000
    version: int | None = None
    entries: dict[Key, Entry] = field(default_factory=dict)
    max_variants: int = MAX_VARIANTS_PER_PATH
    _variants: dict[str, int] = field(default_factory=dict)
    # Called (without waiting) whenever the public version moves: the continuous export.
    listeners: list[Callable[[], None]] = field(default_factory=list)
    _state: PublicState | None = None
    _state_loaded_at: float = 0.0
    _state_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _rendering: dict[Key, asyncio.Future[Entry]] = field(default_factory=dict)
    # The entries of the version before, answered while their successor renders.
    _previous: dict[Key, Entry] = field(default_factory=dict)
    # Reads of each key since the version moved, and how to render it: the most read are
    # rendered again as soon as the version moves, before anyone asks.
    _hits: dict[Key, int] = field(default_factory=dict)
    _recipes: dict[Key, tuple[dict[str, str], Render]] = field(default_factory=dict)
    _refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _generation: int = 0  # moves with the version: a state loaded across a move is dropped
    _poller: asyncio.Task[None] | None = None
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    # -- freshness ------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Moves to the new public version if it moved (or the entries grew old), and renders
        again the pages that were being read before returning: after a write through this
        process they show the change when the write answers. Until each is done, its readers
        get the bytes of the version before, at once (`CacheFront`, `get`)."""
        # One at a time, so a write's refresh answers only after the render of any refresh
        # before it, and a slower one never takes the version back.
        async with self._refresh_lock:
            async with self.database.reading() as session:
                version, _ = await publication.current(session)
            too_old = time.monotonic() - self._state_loaded_at > self.max_age
            moved = self.version is None or version > self.version
            if not moved and not too_old:
                return
            if moved:
                self.version = version
            hot = heapq.nlargest(HOT_KEYS, self._hits, key=self._hits.__getitem__)
            # The hot keys stay candidates (at no reads) for the next move, which may come
            # before anyone has read again: two writes in a row.
            self._previous, self.entries, self._hits = self.entries, {}, dict.fromkeys(hot, 0)
            self._variants = {}
            self._recipes = {key: self._recipes[key] for key in hot if key in self._recipes}
            self._state = None
            self._generation += 1
            if moved:
                for listener in self.listeners:
                    listener()
            await self._render_again(list(self._recipes))

    async def _render_again(self, keys: list[Key]) -> None:
        outcomes = await asyncio.gather(*(self._fresh(key) for key in keys), return_exceptions=True)
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._recipes.pop(key, None)  # a page gone (or failing) is not tried again
                log.error("public cache: could not render %s again: %r", key, outcome)

    async def _fresh(self, key: Key) -> Entry:
        """An entry of the current version for `key`, waiting for one already rendering."""
        params, render = self._recipes[key]
        for _ in range(3):
            pending = self._rendering.get(key)
            if pending is None:
                break
            with contextlib.suppress(Exception):  # its reader hears of its failure
                await asyncio.shield(pending)
            found = self.entries.get(key)
            if found is not None:
                return found
        return await self.get(key, params, render)

    def while_rendering(self, key: Key) -> Entry | None:
        """The previous version's entry for `key` while its successor renders, else None."""
        return self._previous.get(key) if key in self._rendering else None

    def hit(self, key: Key) -> None:
        self._hits[key] = self._hits.get(key, 0) + 1

    def refresh_soon(self) -> None:
        """`refresh` from code that cannot wait for it (the scheduler's callback)."""
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def start(self) -> None:
        if self.poll_interval <= 0:
            return
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
            except Exception:  # the database may be down; serve what we have and retry
                log.exception("public cache: could not read the public version")

    async def state(self) -> PublicState:
        async with self._state_lock:
            while self._state is None:
                generation = self._generation
                async with self.database.reading() as session:
                    loaded = await load(session, site=self.site)
                if generation != self._generation:
                    continue  # the version moved while it loaded: it may predate the move
                self._state, self._state_loaded_at = loaded, time.monotonic()
                if self.version is None or loaded.version > self.version:
                    self.version = loaded.version
                return loaded
            return self._state

    # -- entries --------------------------------------------------------------------------

    def _room_for(self, key: Key) -> bool:
        return (
            len(self.entries) < self.max_entries
            and self._variants.get(key[0], 0) < self.max_variants
        )

    async def get(
        self,
        key: Key,
        params: dict[str, str],
        render: Render,
        *,
        archive: Archive | None = None,
        stale_ok: bool = True,
    ) -> Entry:
        """The cached entry for `key`, rendering it once however many ask at the same time.
        While it renders, others asking get the previous version's entry, unless not
        `stale_ok` (the static export, which wants one version throughout)."""
        self.start()
        found = self.entries.get(key)
        if found is not None:
            self.hit(key)
            return found
        pending = self._rendering.get(key)
        if pending is not None:
            # Under load a render takes a while; the readers arriving meanwhile get the
            # previous bytes at once instead of queueing behind it (the change shows when
            # the render is done, as it would have for them anyway).
            previous = self.while_rendering(key) if stale_ok else None
            return previous if previous is not None else await asyncio.shield(pending)
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            state = await self.state()
            ctx = RenderContext(state, key[2], params, self.database, archive or Archive())
            entry = await render(ctx)
            if entry.version == self.version and self._room_for(key):
                self.entries[key] = entry
                self._variants[key[0]] = self._variants.get(key[0], 0) + 1
                if archive is None:
                    self._recipes[key] = (params, render)
                    self.hit(key)
            future.set_result(entry)
            return entry
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._rendering[key]


# -- keys and language --------------------------------------------------------------------


def language_for(
    path: str, query: dict[str, str], headers: dict[bytes, bytes], default: str
) -> str:
    kind = surface(path)
    if kind == "api":
        return default
    requested = query.get("lang")
    if kind == "feed":
        return requested if requested in LANGUAGES else default
    return _negotiated(
        requested, headers.get(b"cookie", b""), headers.get(b"accept-language", b""), default
    )


@lru_cache(maxsize=4096)
def _negotiated(requested: str | None, cookie: bytes, accept_language: bytes, default: str) -> str:
    return i18n.negotiate(
        query=requested,
        cookie=_cookie(cookie.decode("latin-1"), LANG_COOKIE),
        accept_language=accept_language.decode("latin-1"),
        default=default,
    )


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def key_for(incoming: Incoming, params: dict[str, str], default_language: str) -> Key:
    path = incoming.scope["path"]
    language = language_for(path, incoming.query, incoming.headers, default_language)
    return make_key(path, params, language)


def make_key(path: str, params: dict[str, str], language: str) -> Key:
    """The cache key of a request for `path` with its clean `params`, read in `language`."""
    canonical = urlencode(sorted((k, v) for k, v in params.items() if k != "lang"))
    return path, canonical, language


# -- answering before routing -------------------------------------------------------------


class CacheFront:
    """ASGI middleware answering cache hits before routing; misses go on to the app."""

    def __init__(self, app: ASGIApp, cache: PublicCache, default_language: str) -> None:
        self.app = app
        self.cache = cache
        self.default_language = default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"}:
            cache = self.cache
            incoming = Incoming.of(scope)
            key = key_for(incoming, incoming.query, self.default_language)
            entry = cache.entries.get(key) or cache.while_rendering(key)
            if entry is not None:
                cache.hit(key)
                await send_entry(entry, incoming, send)
                return
        await self.app(scope, receive, send)
