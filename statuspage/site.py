"""The site itself: its name, public address, time zone and default language, from the settings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from statuspage.config import Settings


@dataclass(frozen=True)
class Site:
    name: str
    url: str
    time_zone: str
    default_language: str
    progress_cadence: str = ""
    # The name in other languages than the default one (SITE_NAME_ZH_CN): (language, name)
    other_names: tuple[tuple[str, str], ...] = ()

    def in_language(self, language: str) -> Site:
        """The site as readers of `language` see it: its name translated where one is set."""
        name = dict(self.other_names).get(language)
        return replace(self, name=name) if name else self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def page_id(self) -> str:
        """A stable id for the page object of the Statuspage API, derived from its URL."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        return cls(
            name=settings.site_name,
            url=settings.public_url,
            time_zone=settings.time_zone,
            default_language=settings.default_language,
            progress_cadence=settings.progress_cadence,
            other_names=tuple(settings.site_names().items()),
        )
