"""Demo data: a crypto platform's components, a resolved and an open incident, maintenance."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from incidents import component_flows, flows, maintenance_flows
from incidents.common.actor import Actor
from incidents.common.db_types import utcnow
from incidents.models import Component, Direction
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

# The platform has run for a while: its components predate the 90 days the uptime bars show.
CATALOGUE_AGE_DAYS = 400

# group (en, zh-CN) -> components (en, zh-CN, description)
CATALOGUE: list[tuple[tuple[str, str], list[tuple[str, str, str]]]] = [
    (
        ("Deposits", "充值"),
        [
            ("BTC deposits", "BTC 充值", "Bitcoin deposits, credited after 2 confirmations"),
            ("ETH and ERC-20 deposits", "ETH 及 ERC-20 充值", "Ether and ERC-20 tokens"),
            ("USDT-TRC20 deposits", "USDT-TRC20 充值", "Tether on the TRON network"),
            ("Bank transfer deposits", "银行转账充值", "Fiat deposits by bank transfer"),
        ],
    ),
    (
        ("Withdrawals", "提现"),
        [
            ("BTC withdrawals", "BTC 提现", "Bitcoin withdrawals"),
            ("ETH and ERC-20 withdrawals", "ETH 及 ERC-20 提现", "Ether and ERC-20 tokens"),
            ("USDT-TRC20 withdrawals", "USDT-TRC20 提现", "Tether on the TRON network"),
            ("Bank transfer withdrawals", "银行转账提现", "Fiat withdrawals by bank transfer"),
        ],
    ),
    (
        ("Trading", "交易"),
        [
            ("Spot trading", "现货交易", "Order matching for spot markets"),
            ("Futures trading", "合约交易", "Perpetual and delivery futures"),
            ("Market data", "行情数据", "Order books, trades and candles"),
        ],
    ),
    (
        ("Account", "账户"),
        [
            ("Login and 2FA", "登录与双重验证", "Sign-in, 2FA codes and passkeys"),
            ("Identity verification", "身份认证", "KYC checks for new accounts"),
            ("Mobile app", "移动应用", "iOS and Android apps"),
        ],
    ),
    (
        ("API", "API"),
        [
            ("Public REST API", "公共 REST API", "REST endpoints for trading and accounts"),
            ("WebSocket streams", "WebSocket 推送", "Real-time market and account streams"),
        ],
    ),
]


# Components that stand for one asset's deposits or withdrawals on one network: the network
# matrix (/networks) lists these. ETH's components stand for ERC-20 tokens too; the matrix
# lists them as ETH on ERC20.
NETWORKS: dict[str, tuple[str, str, Direction]] = {
    "BTC deposits": ("BTC", "Bitcoin", Direction.deposit),
    "BTC withdrawals": ("BTC", "Bitcoin", Direction.withdrawal),
    "ETH and ERC-20 deposits": ("ETH", "ERC20", Direction.deposit),
    "ETH and ERC-20 withdrawals": ("ETH", "ERC20", Direction.withdrawal),
    "USDT-TRC20 deposits": ("USDT", "TRC20", Direction.deposit),
    "USDT-TRC20 withdrawals": ("USDT", "TRC20", Direction.withdrawal),
}


async def has_data(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Component)))


async def load(session: AsyncSession, *, actor_id: int | None, language: str = "en") -> None:
    """Loads the demo platform; times are relative to now so the page always looks live."""
    now = utcnow()
    ids = await _catalogue(session, actor_id=actor_id, language=language, now=now)
    await _resolved_withdrawal_incident(session, ids, actor_id, language, now - timedelta(days=3))
    await _resolved_login_incident(session, ids, actor_id, language, now - timedelta(days=19))
    await _open_deposit_incident(session, ids, actor_id, language, now - timedelta(minutes=42))
    await _maintenance(session, ids, actor_id, language, now)


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
