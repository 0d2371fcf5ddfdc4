"""Demo data: a crypto platform's components, a resolved and an open incident, maintenance
scheduled, done and under way."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import component_flows, flows, maintenance_flows
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.models import Component, Incident, Maintenance
from incidents.schemas import (
    ComponentIn,
    GroupIn,
    IncidentOpen,
    MaintenanceIn,
    MaintenanceUpdateIn,
    PostmortemIn,
    ResolveIn,
    UpdateIn,
)
from statuspage.cli.demo_catalogue import CATALOGUE, NETWORKS

# The platform has run for a while: its components predate the 90 days the uptime bars show.
CATALOGUE_AGE_DAYS = 400


async def has_data(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Component)))


async def load(session: AsyncSession, *, actor_id: int | None, language: str = "en") -> str:
    """Loads the demo platform; times are relative to now so the page always looks live.
    Says what it loaded ("32 components, 3 incidents and 3 maintenances")."""
    now = utcnow()
    ids = await _catalogue(session, actor_id=actor_id, language=language, now=now)
    await _resolved_withdrawal_incident(session, ids, actor_id, language, now - timedelta(days=3))
    await _resolved_login_incident(session, ids, actor_id, language, now - timedelta(days=19))
    await _open_deposit_incident(session, ids, actor_id, language, now - timedelta(minutes=42))
    await _maintenance(session, ids, actor_id, language, now)
    await _chain_upgrade_under_way(session, actor_id, language, now - timedelta(minutes=25))
    counts = [
        await session.scalar(select(func.count()).select_from(model))
        for model in (Component, Incident, Maintenance)
    ]
    return "{} components, {} incidents and {} maintenances".format(*counts)


def _actor(actor_id: int | None, language: str, at: datetime) -> Actor:
    return Actor(staff_id=actor_id, default_language=language, now=at)


async def _catalogue(
    session: AsyncSession, *, actor_id: int | None, language: str, now: datetime
) -> dict[str, int]:
    actor = _actor(actor_id, language, now)
    ids: dict[str, int] = {}
    for (group_en, group_zh), components in CATALOGUE:
        group = await component_flows.create_group(
            session,
            data=GroupIn(name=group_en, translations={"zh-CN": {"name": group_zh}}),
            actor=actor,
        )
        for name_en, name_zh, description in components:
            asset, network, direction = NETWORKS.get(name_en, (None, None, None))
            component = await component_flows.create_component(
                session,
                data=ComponentIn(
                    name=name_en,
                    description=description,
                    group_id=group.id,
                    translations={"zh-CN": {"name": name_zh}},
                    asset=asset,
                    network=network,
                    direction=direction,
                ),
                actor=actor,
            )
            component.created_at = now - timedelta(days=CATALOGUE_AGE_DAYS)
            ids[name_en] = component.id
    return ids


async def _resolved_withdrawal_incident(
    session: AsyncSession, ids: dict[str, int], actor_id: int | None, lang: str, start: datetime
) -> None:
    """The incident of three days ago, step by step: opened, its cause found, recovering,
    resolved after 2 h 10 min, and its postmortem written the day after."""
    eth = ids["ETH and ERC-20 withdrawals"]

    def at(later: timedelta) -> Actor:
        return _actor(actor_id, lang, start + later)

    opened = await flows.open_incident(
        session, data=_withdrawals_delayed(eth), actor=at(timedelta())
    )
    await flows.post_update(
        session,
        incident_id=opened.id,
        data=_withdrawal_cause_found(eth, start),
        actor=at(timedelta(minutes=25)),
    )
    await flows.post_update(
        session,
        incident_id=opened.id,
        data=_withdrawals_recovering(eth),
        actor=at(timedelta(minutes=95)),
    )
    await flows.resolve_incident(
        session, incident_id=opened.id, data=_withdrawals_sent(), actor=at(timedelta(minutes=130))
    )
    await flows.add_postmortem(
        session, incident_id=opened.id, data=_withdrawal_postmortem(), actor=at(timedelta(days=1))
    )


def _withdrawals_delayed(eth: int) -> IncidentOpen:
    return IncidentOpen(
        name="ETH and ERC-20 withdrawals delayed",
        impact="major",
        body="Withdrawals of ETH and ERC-20 tokens are taking longer than usual. "
        "Your funds are safe; queued withdrawals will be sent.",
        components={eth: "partial_outage"},
        translations={
            "zh-CN": {
                "name": "ETH 及 ERC-20 提现延迟",
                "body": "ETH 及 ERC-20 代币提现比平时慢。您的资产安全，排队中的提现将会发出。",
            }
        },
    )


def _withdrawal_cause_found(eth: int, start: datetime) -> UpdateIn:
    return UpdateIn(
        status="identified",
        body="We found the cause and are resyncing the node. USDT-TRC20 is not affected.",
        cause="An Ethereum node fell behind the chain head after a client upgrade.",
        expected_resolution_at=start + timedelta(hours=2),
        components={eth: "major_outage"},
        translations={
            "zh-CN": {
                "body": "我们已找到原因，正在重新同步节点。USDT-TRC20 不受影响。",
                "cause": "一个以太坊节点在客户端升级后落后于链上最新区块。",
            }
        },
    )


def _withdrawals_recovering(eth: int) -> UpdateIn:
    return UpdateIn(
        status="monitoring",
        body="The node is in sync and the queue is draining. Withdrawals are being sent.",
        components={eth: "degraded_performance"},
        translations={"zh-CN": {"body": "节点已同步，队列正在处理，提现正在发出。"}},
    )


def _withdrawals_sent() -> ResolveIn:
    return ResolveIn(
        body="All queued withdrawals have been sent. Fees paid during the delay will be refunded.",
        translations={
            "zh-CN": {"body": "所有排队的提现均已发出。延迟期间支付的手续费将予以退还。"}
        },
    )


def _withdrawal_postmortem() -> PostmortemIn:
    return PostmortemIn(
        body="## What happened\n\nA client upgrade on one of our Ethereum nodes stalled "
        "block import. Our withdrawal service kept using that node, so withdrawals queued "
        "for 2 hours 10 minutes.\n\n## What we changed\n\n- Withdrawals now fail over to "
        "a healthy node when the head lags by more than 5 blocks.\n- Upgrades roll out to "
        "one node at a time.",
        translations={
            "zh-CN": {
                "body": "## 发生了什么\n\n一个以太坊节点升级客户端后停止导入区块，"
                "提现服务仍在使用该节点，导致提现排队 2 小时 10 分钟。\n\n## 改进措施\n\n"
                "- 当节点落后超过 5 个区块时，提现自动切换到健康节点。\n- 升级逐台进行。"
            }
        },
    )


async def _resolved_login_incident(
    session: AsyncSession, ids: dict[str, int], actor_id: int | None, lang: str, start: datetime
) -> None:
    login = ids["Login and 2FA"]
    incident = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="2FA codes by SMS arrive late",
            body="Some users receive SMS verification codes late. Authenticator apps and "
            "passkeys work normally.",
            components={login: "degraded_performance"},
            translations={
                "zh-CN": {
                    "name": "短信验证码延迟",
                    "body": "部分用户收到短信验证码较慢。身份验证器应用和通行密钥正常。",
                }
            },
        ),
        actor=_actor(actor_id, lang, start),
    )
    await flows.resolve_incident(
        session,
        incident_id=incident.id,
        data=ResolveIn(
            body="Our SMS provider has cleared its backlog; codes arrive within seconds again.",
            cause="A backlog at our SMS provider.",
            translations={
                "zh-CN": {
                    "body": "短信服务商已处理完积压，验证码恢复秒级送达。",
                    "cause": "短信服务商积压。",
                }
            },
        ),
        actor=_actor(actor_id, lang, start + timedelta(minutes=48)),
    )


async def _open_deposit_incident(
    session: AsyncSession, ids: dict[str, int], actor_id: int | None, lang: str, start: datetime
) -> None:
    btc = ids["BTC deposits"]
    incident = await flows.open_incident(
        session,
        data=IncidentOpen(
            name="BTC deposits credited slowly",
            body="Bitcoin deposits are taking longer than usual to be credited.",
            components={btc: "degraded_performance"},
            translations={
                "zh-CN": {"name": "BTC 充值到账缓慢", "body": "比特币充值到账时间比平时长。"}
            },
        ),
        actor=_actor(actor_id, lang, start),
    )
    await flows.post_update(
        session,
        incident_id=incident.id,
        data=UpdateIn(
            status="identified",
            body="Deposits are safe and will all be credited. We are adding capacity to the "
            "service that watches the chain.",
            cause="A surge of transactions fills the mempool; our deposit scanner lags behind.",
            expected_resolution_at=start + timedelta(hours=3),
            translations={
                "zh-CN": {
                    "body": "充值资金安全，都会到账。我们正在为链上监听服务扩容。",
                    "cause": "交易激增导致内存池拥堵，充值扫描服务处理滞后。",
                }
            },
        ),
        actor=_actor(actor_id, lang, start + timedelta(minutes=20)),
    )


async def _maintenance(
    session: AsyncSession, ids: dict[str, int], actor_id: int | None, lang: str, now: datetime
) -> None:
    day = (now + timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0)
    await maintenance_flows.create_maintenance(
        session,
        data=MaintenanceIn(
            name="Futures matching engine upgrade",
            body="Futures trading and WebSocket streams pause for up to 60 minutes. Open "
            "orders stay on the book.",
            scheduled_for=day,
            scheduled_until=day + timedelta(hours=1),
            component_ids=[ids["Futures trading"], ids["WebSocket streams"]],
            translations={
                "zh-CN": {
                    "name": "合约撮合引擎升级",
                    "body": "合约交易和 WebSocket 推送将暂停最多 60 分钟，挂单保留。",
                }
            },
        ),
        actor=_actor(actor_id, lang, now),
    )
    past = (now - timedelta(days=9)).replace(hour=1, minute=0, second=0, microsecond=0)
    done = await maintenance_flows.create_maintenance(
        session,
        data=MaintenanceIn(
            name="Bank transfer provider switch",
            body="Bank transfer deposits and withdrawals pause while we switch providers.",
            scheduled_for=past,
            scheduled_until=past + timedelta(hours=2),
            component_ids=[ids["Bank transfer deposits"], ids["Bank transfer withdrawals"]],
            translations={
                "zh-CN": {
                    "name": "银行转账通道切换",
                    "body": "切换通道期间暂停银行转账充值和提现。",
                }
            },
        ),
        actor=_actor(actor_id, lang, past - timedelta(days=5)),
    )
    for status, offset, body, body_zh in (
        ("in_progress", 0, "The switch has started.", "切换已开始。"),
        ("completed", 95, "Bank transfers work again.", "银行转账已恢复。"),
    ):
        await maintenance_flows.post_maintenance_update(
            session,
            maintenance_id=done.id,
            data=MaintenanceUpdateIn(
                status=status, body=body, translations={"zh-CN": {"body": body_zh}}
            ),
            actor=_actor(actor_id, lang, past + timedelta(minutes=offset)),
        )


async def _chain_upgrade_under_way(
    session: AsyncSession, actor_id: int | None, lang: str, start: datetime
) -> None:
    """A hard fork on BNB Smart Chain, named by its network (every asset on BEP20, both ways),
    in progress: the network matrix shows those rows suspended until the window ends."""
    upgrade = await maintenance_flows.create_maintenance(
        session,
        data=MaintenanceIn(
            name="BNB Smart Chain hard fork",
            body="Deposits and withdrawals on BNB Smart Chain (BEP20) pause while our nodes "
            "upgrade for the network's hard fork. Other networks of the same assets are open.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=2),
            networks=["BEP20"],
            translations={
                "zh-CN": {
                    "name": "BNB 智能链硬分叉",
                    "body": "为配合网络硬分叉，节点升级期间暂停 BNB 智能链（BEP20）的充值和提现。"
                    "同一资产的其他网络照常开放。",
                }
            },
        ),
        actor=_actor(actor_id, lang, start - timedelta(days=4)),
    )
    await maintenance_flows.post_maintenance_update(
        session,
        maintenance_id=upgrade.id,
        data=MaintenanceUpdateIn(
            status="in_progress",
            body="The upgrade has started; BEP20 deposits and withdrawals are paused.",
            translations={"zh-CN": {"body": "升级已开始，BEP20 充值和提现已暂停。"}},
        ),
        actor=_actor(actor_id, lang, start),
    )
