"""Settings from the environment, read in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.schemas import LANGUAGES

DEFAULT_DATABASE_URL = "sqlite:///statuspage.db"


class SettingsError(ValueError):
    """A setting has a value the application cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    site_name: str = "Status"
    default_language: str = "en"
    time_zone: str = "UTC"
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_048_576
    sql_echo: bool = False
    # How often each instance checks for changes made elsewhere; 0 turns the check off.
    cache_poll_seconds: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            site_name=env.get("SITE_NAME", "Status"),
            default_language=env.get("DEFAULT_LANGUAGE", "en"),
            time_zone=env.get("TIME_ZONE", "UTC"),
            public_url=env.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_048_576),
            sql_echo=env.get("SQL_ECHO", "") in {"1", "true", "yes"},
            cache_poll_seconds=_float(env, "CACHE_POLL_SECONDS", 1.0),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.default_language not in LANGUAGES:
            raise SettingsError(
                f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, "
                f"not {self.default_language!r}"
            )
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"TIME_ZONE {self.time_zone!r} is not a known zone") from error


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from error
    if value < 0:
        raise SettingsError(f"{name} cannot be negative")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from error
