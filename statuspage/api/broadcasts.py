"""Staff API for broadcasting: subscriptions, the delivery log, scheduled posts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from incidents import scheduled_posts, service
from incidents.broadcasting import deliveries as delivery_log
from incidents.broadcasting import subscriptions as subscription_flows
from incidents.broadcasting.models import Channel, Delivery, DeliveryState, PostState, Subscription
from incidents.broadcasting.schemas import (
    AttemptOut,
    DeliveryOut,
    ScheduledPostOut,
    ScheduleMaintenanceIn,
    ScheduleUpdateIn,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from incidents.common.staff import SUPPORT
from statuspage.api.routing import Call, Endpoint, RequestInvalid, tagged
from statuspage.channels import egress
from statuspage.channels.redaction import shown_address

_MAX_ID = 2**31 - 1


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionQuery(_Query):
    channel: Channel | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    before_id: Annotated[int, Field(ge=1, le=_MAX_ID)] | None = None


class DeliveryQuery(_Query):
    subscription_id: Annotated[int, Field(ge=1, le=_MAX_ID)] | None = None
    incident_id: Annotated[int, Field(ge=1, le=_MAX_ID)] | None = None
    maintenance_id: Annotated[int, Field(ge=1, le=_MAX_ID)] | None = None
    state: DeliveryState | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    before_id: Annotated[int, Field(ge=1, le=_MAX_ID)] | None = None


class PostQuery(_Query):
    state: PostState | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class Deleted(BaseModel):
    deleted: int


class TestQueued(BaseModel):
    delivery_id: int


def subscription_out(subscription: Subscription, *, whole: bool = False) -> dict[str, Any]:
    """The subscription as the API shows it: its address masked (a chat webhook URL is its
    token), unless `whole` (the create response, which shows it this once)."""
    address = subscription.address
    return {
        **{name: getattr(subscription, name) for name in _SUBSCRIPTION_COLUMNS},
        "address": address if whole else shown_address(subscription.channel, address),
        "component_ids": [component.id for component in subscription.components],
    }


_SUBSCRIPTION_COLUMNS = [name for name in SubscriptionOut.model_fields if name != "component_ids"]


async def _deliveries_out(call: Call, deliveries: Any) -> list[DeliveryOut]:
    history = await delivery_log.attempts_of(
        call.session, delivery_ids=[delivery.id for delivery in deliveries]
    )
    return [_delivery_out(delivery, history[delivery.id]) for delivery in deliveries]


def _delivery_out(delivery: Delivery, attempts: list[Any]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        kind=delivery.event.kind,
        subscription_id=delivery.subscription_id,
        channel=delivery.subscription.channel,
        address=shown_address(delivery.subscription.channel, delivery.subscription.address),
        state=delivery.state,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
        sent_at=delivery.sent_at,
        created_at=delivery.created_at,
        history=[AttemptOut.model_validate(attempt) for attempt in attempts],
    )


# -- handlers -----------------------------------------------------------------------------


async def list_subscriptions(call: Call) -> list[SubscriptionOut]:
    query: SubscriptionQuery = call.query
    found = await subscription_flows.list_subscriptions(
        call.session, channel=query.channel, limit=query.limit, before_id=query.before_id
    )
    return [SubscriptionOut.model_validate(subscription_out(item)) for item in found]


async def create_subscription(call: Call) -> SubscriptionCreated:
    data: SubscriptionIn = call.body
    if data.url is not None:
        allow_private = call.settings.allow_private_webhook_hosts
        refused = egress.refused_url(data.url, allow_private=allow_private)
        if refused is not None:
            raise RequestInvalid([("url", refused)])
    subscription, secret = await subscription_flows.create_subscription(
        call.session, data=data, actor=call.actor()
    )
    subscription = await subscription_flows.get_subscription(
        call.session, subscription_id=subscription.id
    )
    shown = subscription_out(subscription, whole=True)
    return SubscriptionCreated.model_validate({**shown, "secret": secret})


async def get_subscription(call: Call) -> SubscriptionOut:
    subscription = await subscription_flows.get_subscription(
        call.session, subscription_id=call.path["subscription_id"]
    )
    return SubscriptionOut.model_validate(subscription_out(subscription))


async def edit_subscription(call: Call) -> SubscriptionOut:
    subscription = await subscription_flows.edit_subscription(
        call.session,
        subscription_id=call.path["subscription_id"],
        data=call.body,
        actor=call.actor(),
    )
    return SubscriptionOut.model_validate(subscription_out(subscription))


async def delete_subscription(call: Call) -> Deleted:
    subscription_id = call.path["subscription_id"]
    await subscription_flows.delete_subscription(
        call.session, subscription_id=subscription_id, actor=call.actor()
    )
    return Deleted(deleted=subscription_id)


async def send_test(call: Call) -> TestQueued:
    delivery = await subscription_flows.send_test(
        call.session, subscription_id=call.path["subscription_id"], actor=call.actor()
    )
    return TestQueued(delivery_id=delivery.id)


async def list_deliveries(call: Call) -> list[DeliveryOut]:
    query: DeliveryQuery = call.query
    found = await delivery_log.list_deliveries(call.session, **query.model_dump())
    return await _deliveries_out(call, found)


async def incident_deliveries(call: Call) -> list[DeliveryOut]:
    await service.get_incident(call.session, incident_id=call.path["incident_id"])
    found = await delivery_log.list_deliveries(
        call.session, incident_id=call.path["incident_id"], limit=500
    )
    return await _deliveries_out(call, found)


async def schedule_update(call: Call) -> ScheduledPostOut:
    post = await scheduled_posts.schedule_update(
        call.session, incident_id=call.path["incident_id"], data=call.body, actor=call.actor()
    )
    return ScheduledPostOut.model_validate(post)


async def schedule_maintenance(call: Call) -> ScheduledPostOut:
    post = await scheduled_posts.schedule_maintenance(
        call.session, data=call.body, actor=call.actor()
    )
    return ScheduledPostOut.model_validate(post)


async def list_posts(call: Call) -> list[ScheduledPostOut]:
    query: PostQuery = call.query
    posts = await scheduled_posts.list_posts(call.session, state=query.state, limit=query.limit)
    return [ScheduledPostOut.model_validate(post) for post in posts]


async def cancel_post(call: Call) -> ScheduledPostOut:
    post = await scheduled_posts.cancel_post(
        call.session, post_id=call.path["post_id"], actor=call.actor()
    )
    return ScheduledPostOut.model_validate(post)


def _e(method: str, path: str, handler: Any, summary: str, **options: Any) -> Endpoint:
    return tagged(method, path, handler, SUPPORT, summary, **options)


ENDPOINTS: list[Endpoint] = [
    _e(
        "GET",
        "/subscriptions",
        list_subscriptions,
        "list subscriptions",
        query=SubscriptionQuery,
        response=list[SubscriptionOut],
    ),
    _e(
        "POST",
        "/subscriptions",
        create_subscription,
        "subscribe an email, webhook or chat channel (a webhook's secret and a chat webhook's "
        "whole URL are shown once)",
        body=SubscriptionIn,
        response=SubscriptionCreated,
        status_code=201,
    ),
    _e(
        "GET",
        "/subscriptions/{subscription_id}",
        get_subscription,
        "read a subscription",
        response=SubscriptionOut,
    ),
    _e(
        "PATCH",
        "/subscriptions/{subscription_id}",
        edit_subscription,
        "change a subscription's language or components, disable or enable it",
        body=SubscriptionPatch,
        response=SubscriptionOut,
    ),
    _e(
        "DELETE",
        "/subscriptions/{subscription_id}",
        delete_subscription,
        "delete a subscription and its delivery log",
        response=Deleted,
    ),
    _e(
        "POST",
        "/subscriptions/{subscription_id}/test",
        send_test,
        "send a test message",
        response=TestQueued,
        status_code=202,
    ),
    _e(
        "GET",
        "/deliveries",
        list_deliveries,
        "the delivery log with every attempt",
        query=DeliveryQuery,
        response=list[DeliveryOut],
    ),
    _e(
        "GET",
        "/incidents/{incident_id}/deliveries",
        incident_deliveries,
        "what went out about an incident, to whom, and how it went",
        response=list[DeliveryOut],
    ),
    _e(
        "POST",
        "/incidents/{incident_id}/scheduled-updates",
        schedule_update,
        "schedule an update to post later",
        body=ScheduleUpdateIn,
        response=ScheduledPostOut,
        status_code=201,
    ),
    _e(
        "POST",
        "/scheduled-maintenances",
        schedule_maintenance,
        "schedule a maintenance announcement to go out later",
        body=ScheduleMaintenanceIn,
        response=ScheduledPostOut,
        status_code=201,
    ),
    _e(
        "GET",
        "/scheduled-posts",
        list_posts,
        "scheduled posts",
        query=PostQuery,
        response=list[ScheduledPostOut],
    ),
    _e(
        "POST",
        "/scheduled-posts/{post_id}/cancel",
        cancel_post,
        "cancel a scheduled post",
        response=ScheduledPostOut,
    ),
]
