"""Settings from the environment, read in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import TYPE_CHECKING

from incidents.common import zones
from incidents.common.roles import StaffRole

if TYPE_CHECKING:
    from incidents.models import Impact

DEFAULT_DATABASE_URL = "sqlite:///statuspage.db"
# The demo platform as the README shows it; a deployment's own settings win over these.
DEMO_DEFAULTS = {"SITE_NAME": "CoinPort", "TIME_ZONE": "Asia/Shanghai"}


def demo_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with the demo's look filled in where it sets nothing (`serve --demo`)."""
    filled = {**DEMO_DEFAULTS, **environ}
    if "SITE_NAME" not in environ:  # its Chinese name only with the demo's own name
        filled.setdefault("SITE_NAME_ZH_CN", "币港")
    return filled


class SettingsError(ValueError):
    """A setting has a value the application cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    site_name: str = "Status"
    site_name_zh_cn: str = ""  # the name in Chinese, where it is not SITE_NAME
    default_language: str = "en"
    time_zone: str = "UTC"
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # Requests each web worker works on at once (0: granian's own bound, its backlog of 1,024
    # over the workers); more wait in granian's queue. BENCHMARKS.md, "memory": a bound of 64
    # holds a worker 6 MB smaller and its p99 4x shorter at 256 readers, for ~10% fewer req/s.
    web_concurrency_limit: int = 0
    max_body_bytes: int = 1_048_576
    sql_echo: bool = False
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / Forwarded header names
    # the client; from anyone else the header is ignored. Empty: the peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # How often each instance checks for changes made elsewhere; 0 turns the check off.
    cache_poll_seconds: float = 1.0
    # Signs confirmation, manage and unsubscribe links; generated and kept in the database
    # when unset, so every instance shares it.
    secret_key: str = ""
    # The key (Statuspage) or token (Cachet) of the source `statuspage import` reads: here
    # it stays out of the process list, where --api-key would show it.
    import_api_key: str = ""
    # The console roles that must sign in with a second factor (TOTP); anyone may enrol one.
    staff_2fa_roles: str = "admin,finance"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = "none"  # none | starttls | tls
    mail_from: str = "Status <status@localhost>"
    # Delivery: this instance sends what is due (any number of instances may).
    run_worker: bool = True
    # `statuspage serve` runs the delivery worker as a child process at this CPU niceness
    # instead of on the web server's event loop (see statuspage/workers/process.py).
    worker_process: bool = True
    worker_nice: int = 5
    delivery_concurrency: int = 64
    delivery_timeout_seconds: float = 10.0
    # A claim on deliveries lasts the attempt's timeout plus this, room to record the result
    # (past SQLite's 10 s busy timeout); a dead worker's claims go out again after both.
    delivery_lease_margin_seconds: float = 12.0
    # Writes wake the workers at once (statuspage/wake.py); this slow poll is the safety net
    # for a lost wake-up, and for rows that fall due later (retries, scheduled sends).
    worker_poll_seconds: float = 5.0
    # Scheduling: one instance at a time runs it (database lock); the others stand by.
    run_scheduler: bool = True
    scheduler_sweep_seconds: float = 10.0
    progress_cadence: str = "critical=30,major=60,minor=120"
    telegram_api_url: str = "https://api.telegram.org"
    # Subscribers' webhook and chat URLs may lead to private and local addresses (off: such
    # URLs are refused when made, and connections to such addresses when sending).
    allow_private_webhook_hosts: bool = False
    # Compensation: the platform's credit API hears of every issued voucher (signed per
    # Standard Webhooks with this whsec_ secret); its event API feeds the intake.
    credit_api_url: str = ""
    credit_api_secret: str = ""
    credit_concurrency: int = 16
    # Vouchers written and committed together while issuing: a crash or a second click
    # resumes after the last whole chunk.
    issue_chunk_vouchers: int = 2000
    platform_events_url: str = ""
    platform_api_token: str = ""
    max_upload_bytes: int = 2_147_483_648
    # Detection: the scheduler deletes received alerts older than this (those still holding
    # an open incident are kept).
    alert_retention_days: int = 30
    # Static export: when set, every public change re-exports the site into this folder.
    export_dir: str = ""
    # An S3-compatible store's address for `statuspage export s3://...` (empty: AWS itself).
    export_s3_endpoint_url: str = ""

    def cadence(self) -> dict[Impact, timedelta | None]:
        from incidents.broadcasting.rules import parse_cadence

        return parse_cadence(self.progress_cadence)

    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    def site_names(self) -> dict[str, str]:
        """The site's name in the languages SITE_NAME_<LANGUAGE> translates it to."""
        return {"zh-CN": self.site_name_zh_cn} if self.site_name_zh_cn else {}

    def second_factor_roles(self) -> frozenset[StaffRole]:
        """The roles of STAFF_2FA_ROLES (comma-separated; empty: none)."""
        return _console_roles(self.staff_2fa_roles, "STAFF_2FA_ROLES")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, check: bool = True) -> Settings:
        """The settings of this environment; `check=False` only parses them, without the
        checks that load the incident domain (`serve`'s supervisor: the `migrate` it runs
        first checks them all, and it stays light)."""
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            site_name=env.get("SITE_NAME", "Status"),
            site_name_zh_cn=env.get("SITE_NAME_ZH_CN", ""),
            default_language=env.get("DEFAULT_LANGUAGE", "en"),
            time_zone=env.get("TIME_ZONE", "UTC"),
            public_url=env.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            web_concurrency_limit=_int(env, "WEB_CONCURRENCY_LIMIT", 0),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_048_576),
            sql_echo=env.get("SQL_ECHO", "") in {"1", "true", "yes"},
            trusted_proxies=_list(env, "TRUSTED_PROXIES"),
            cache_poll_seconds=_float(env, "CACHE_POLL_SECONDS", 1.0),
            secret_key=env.get("SECRET_KEY", ""),
            import_api_key=env.get("STATUSPAGE_IMPORT_API_KEY", ""),
            staff_2fa_roles=env.get("STAFF_2FA_ROLES", "admin,finance"),
            smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
            smtp_port=_int(env, "SMTP_PORT", 25),
            smtp_username=env.get("SMTP_USERNAME", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_security=env.get("SMTP_SECURITY", "none"),
            mail_from=env.get("MAIL_FROM", "Status <status@localhost>"),
            run_worker=_flag(env, "RUN_WORKER", True),
            worker_process=_flag(env, "WORKER_PROCESS", True),
            worker_nice=_int(env, "WORKER_NICE", 5),
            delivery_concurrency=_int(env, "DELIVERY_CONCURRENCY", 64),
            delivery_timeout_seconds=_float(env, "DELIVERY_TIMEOUT_SECONDS", 10.0),
            delivery_lease_margin_seconds=_float(env, "DELIVERY_LEASE_MARGIN_SECONDS", 12.0),
            worker_poll_seconds=_float(env, "WORKER_POLL_SECONDS", 5.0),
            run_scheduler=_flag(env, "RUN_SCHEDULER", True),
            scheduler_sweep_seconds=_float(env, "SCHEDULER_SWEEP_SECONDS", 10.0),
            progress_cadence=env.get("PROGRESS_CADENCE", "critical=30,major=60,minor=120"),
            telegram_api_url=env.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
            allow_private_webhook_hosts=_flag(env, "ALLOW_PRIVATE_WEBHOOK_HOSTS", False),
            credit_api_url=env.get("CREDIT_API_URL", ""),
            credit_api_secret=env.get("CREDIT_API_SECRET", ""),
            credit_concurrency=_int(env, "CREDIT_CONCURRENCY", 16),
            issue_chunk_vouchers=_int(env, "ISSUE_CHUNK_VOUCHERS", 2000),
            platform_events_url=env.get("PLATFORM_EVENTS_URL", ""),
            platform_api_token=env.get("PLATFORM_API_TOKEN", ""),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 2_147_483_648),
            alert_retention_days=_int(env, "ALERT_RETENTION_DAYS", 30),
            export_dir=env.get("EXPORT_DIR", ""),
            export_s3_endpoint_url=env.get("EXPORT_S3_ENDPOINT_URL", ""),
        )
        if check:
            settings.check()
        return settings

    def check(self) -> None:
        from incidents.models import LANGUAGES

        if self.default_language not in LANGUAGES:
            raise SettingsError(
                f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, "
                f"not {self.default_language!r}"
            )
        if not zones.is_zone(self.time_zone):  # "Asia" is a folder of zones, not one
            raise SettingsError(f"TIME_ZONE {self.time_zone!r} is not a known zone")
        if self.smtp_security not in {"none", "starttls", "tls"}:
            raise SettingsError(
                f"SMTP_SECURITY must be none, starttls or tls, not {self.smtp_security!r}"
            )
        if self.web_concurrency_limit < 0:
            raise SettingsError("WEB_CONCURRENCY_LIMIT must be 0 (granian's bound) or more")
        if not 0 <= self.worker_nice <= 19:
            raise SettingsError(f"WORKER_NICE must be from 0 to 19, not {self.worker_nice}")
        if self.delivery_concurrency < 1:
            raise SettingsError("DELIVERY_CONCURRENCY must be at least 1")
        if self.delivery_lease_margin_seconds < 0:
            raise SettingsError("DELIVERY_LEASE_MARGIN_SECONDS must not be negative")
        if self.credit_api_url and not self.credit_api_secret.startswith("whsec_"):
            raise SettingsError(
                "CREDIT_API_SECRET must be a whsec_ secret when CREDIT_API_URL is set"
            )
        if not 1 <= self.issue_chunk_vouchers <= 100_000:
            raise SettingsError("ISSUE_CHUNK_VOUCHERS must be from 1 to 100000")
        if self.credit_concurrency < 1:
            raise SettingsError("CREDIT_CONCURRENCY must be at least 1")
        if self.alert_retention_days < 1:
            raise SettingsError("ALERT_RETENTION_DAYS must be at least 1")
        try:
            self.cadence()
        except ValueError as error:
            raise SettingsError(f"PROGRESS_CADENCE: {error}") from error
        for entry in self.trusted_proxies:
            try:
                ip_network(entry, strict=False)
            except ValueError as error:
                raise SettingsError(
                    f"TRUSTED_PROXIES: {entry!r} is not an address or a network (10.0.0.0/8)"
                ) from error
        self.second_factor_roles()


@cache
def _networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(entry, strict=False) for entry in entries)


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list; blanks around and between the commas do not count."""
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


_CONSOLE_ROLES = (StaffRole.support, StaffRole.finance, StaffRole.admin)


def _console_roles(raw: str, name: str) -> frozenset[StaffRole]:
    found = set()
    for part in raw.split(","):
        word = part.strip().lower()
        if not word:
            continue
        if word not in _CONSOLE_ROLES:
            known = ", ".join(role.value for role in _CONSOLE_ROLES)
            raise SettingsError(f"{name} lists console roles ({known}), not {word!r}")
        found.add(StaffRole(word))
    return frozenset(found)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


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
