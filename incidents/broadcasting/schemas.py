"""Input and output shapes of subscriptions, deliveries and scheduled posts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from incidents.broadcasting.models import (
    AttemptOutcome,
    Audience,
    Channel,
    DeliveryState,
    PostKind,
    PostState,
)
from incidents.common.errors import N_, Invalid
from incidents.networks import NetworkChoice
from incidents.schemas import (
    ComponentIds,
    Id,
    Language,
    MaintenanceIn,
    UpdateIn,
    When,
    unsafe_character,
)

_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_TELEGRAM_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
_TELEGRAM_CHAT = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{4,64})$")


def normal_email(value: str) -> str:
    """The address in lower case, as stored and looked up: one inbox is one subscriber in
    whatever case it was typed (RFC 5321 lets a local part be case-sensitive; mailbox
    providers do not make it so)."""
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value) or unsafe_character(value) is not None:
        raise Invalid(N_("is not an email address"))
    return value.lower()


def _web_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+", value) or any(ch.isspace() for ch in value):
        raise Invalid(N_("must be an http:// or https:// URL"))
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(normal_email)]
WebUrl = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_web_url)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


_NETWORKS = (
    "assets on networks to hear about (USDT on TRC20, deposits, withdrawals or both): "
    "stored as the components standing for them, beside `component_ids`"
)
NetworkChoices = Annotated[list[NetworkChoice], Field(max_length=50)]


class SubscriptionIn(_In):
    """One of: `email`; `url` (webhook, slack, discord, feishu, dingtalk, wecom);
    `bot_token` and `chat_id` (telegram). Feishu and DingTalk take their signing `secret`."""

    channel: Channel
    email: Email | None = None
    url: WebUrl | None = None
    bot_token: Annotated[str, Field(max_length=200)] | None = None
    chat_id: Annotated[str, Field(max_length=80)] | None = None
    secret: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    language: Language = "en"
    component_ids: ComponentIds = Field(
        default=[], description="components to hear about; empty for everything"
    )
    networks: NetworkChoices = Field(default=[], description=_NETWORKS)
    audience: Audience = Field(
        default=Audience.public,
        description="staff: the support team's channel, which also gets reminders",
    )
    confirmed: bool = Field(
        default=False,
        description="email only: true skips the confirmation email (staff vouch for it)",
    )

    @model_validator(mode="after")
    def _fields_of_channel(self) -> SubscriptionIn:
        needed = {
            Channel.email: ["email"],
            Channel.telegram: ["bot_token", "chat_id"],
        }.get(self.channel, ["url"])
        for name in needed:
            if getattr(self, name) is None:
                raise Invalid(
                    N_("%(name)s: is required for a %(channel)s subscription"),
                    name=name,
                    channel=self.channel.value,
                )
        allowed = set(needed) | ({"secret"} if self.channel in _SIGNED_BY_PLATFORM else set())
        for name in ("email", "url", "bot_token", "chat_id", "secret"):
            if name not in allowed and getattr(self, name) is not None:
                raise Invalid(
                    N_("%(name)s: does not apply to a %(channel)s subscription"),
                    name=name,
                    channel=self.channel.value,
                )
        if self.bot_token is not None and not _TELEGRAM_TOKEN.match(self.bot_token):
            raise Invalid(N_("bot_token: is not a Telegram bot token (digits:letters)"))
        if self.chat_id is not None and not _TELEGRAM_CHAT.match(self.chat_id):
            raise Invalid(N_("chat_id: must be a numeric chat id or an @channel name"))
        if self.confirmed and self.channel != Channel.email:
            raise Invalid(N_("confirmed: only email subscriptions need confirming"))
        return self


_SIGNED_BY_PLATFORM = {Channel.feishu, Channel.dingtalk}


class SubscriptionPatch(_In):
    language: Language | None = None
    component_ids: ComponentIds | None = None
    networks: NetworkChoices | None = Field(
        default=None, description=_NETWORKS + "; given, the filter is set anew from both"
    )
    enabled: bool | None = Field(default=None, description="false disables, true re-enables")


class PublicSubscribeIn(_In):
    email: Email
    language: Language = "en"
    component_ids: ComponentIds = []


class SubscriptionOut(_Out):
    id: int
    channel: Channel
    audience: Audience
    address: str = Field(
        description="the email address or Telegram chat; a webhook URL without its query; "
        "a chat webhook URL with its token (the last part of the path, or the query) as …"
    )
    language: str
    all_components: bool
    component_ids: list[int]
    confirmed_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    address: str = Field(description="the address as given: shown whole this once")
    secret: str | None = Field(
        description="the webhook signing secret: shown this once, keep it safe"
    )


class AttemptOut(_Out):
    id: int
    attempted_at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: int
    error: str | None
    worker: str


class DeliveryOut(_Out):
    id: int
    event_id: int
    kind: str
    subscription_id: int
    channel: Channel
    address: str = Field(description="the subscription's address, masked as it is there")
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
    history: list[AttemptOut]


class ScheduleUpdateIn(_In):
    run_at: When
    update: UpdateIn


class ScheduleMaintenanceIn(_In):
    run_at: When
    maintenance: MaintenanceIn


class ScheduledPostOut(_Out):
    id: int
    kind: PostKind
    incident_id: int | None
    payload: dict[str, Any]
    run_at: datetime
    state: PostState
    result_id: int | None
    error: str | None
    created_at: datetime
    done_at: datetime | None


IdList = Annotated[list[Id], Field(max_length=500)]
