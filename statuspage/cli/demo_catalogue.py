"""The demo platform's components: what a real exchange lists, each asset's deposits and
withdrawals on each network it supports, the fiat rail, trading, accounts and the API."""

from __future__ import annotations

from incidents.models import Direction

# asset, network, description
_LISTED: list[tuple[str, str, str]] = [
    ("BTC", "Bitcoin", "Bitcoin"),
    ("ETH", "ERC20", "Ether and ERC-20 tokens"),
    ("USDT", "ERC20", "Tether on Ethereum"),
    ("USDC", "ERC20", "USD Coin on Ethereum"),
    ("USDT", "TRC20", "Tether on the TRON network"),
    ("TRX", "TRC20", "TRON's own coin"),
    ("SOL", "Solana", "Solana's own coin"),
    ("USDT", "Solana", "Tether on Solana"),
    ("USDC", "Solana", "USD Coin on Solana"),
    ("BNB", "BEP20", "BNB on BNB Smart Chain"),
    ("USDT", "BEP20", "Tether on BNB Smart Chain"),
]

# The names staff and holders already know: an asset on its home chain goes by the asset alone
# ("BTC deposits"); a token on another chain by asset and network ("USDT-TRC20 deposits"). ETH's
# components keep their name: they stand for the ERC-20 tokens without a component of their own.
_HOME_CHAIN = {"BTC": "Bitcoin", "TRX": "TRC20", "SOL": "Solana", "BNB": "BEP20"}
_WAYS = {
    Direction.deposit: ("deposits", "充值"),
    Direction.withdrawal: ("withdrawals", "提现"),
}


def _name(asset: str, network: str) -> str:
    if asset == "ETH":
        return "ETH and ERC-20"
    return asset if _HOME_CHAIN.get(asset) == network else f"{asset}-{network}"


def _name_zh(asset: str, network: str) -> str:
    return "ETH 及 ERC-20" if asset == "ETH" else _name(asset, network)


def _ways(direction: Direction) -> list[tuple[str, str, str]]:
    en, zh = _WAYS[direction]
    return [
        (f"{_name(asset, network)} {en}", f"{_name_zh(asset, network)} {zh}", description)
        for asset, network, description in _LISTED
    ]


# Components that stand for one asset's deposits or withdrawals on one network: the network
# matrix (/networks) lists these.
NETWORKS: dict[str, tuple[str, str, Direction]] = {
    f"{_name(asset, network)} {_WAYS[direction][0]}": (asset, network, direction)
    for direction in _WAYS
    for asset, network, _ in _LISTED
}

# group (en, zh-CN) -> components (en, zh-CN, description)
CATALOGUE: list[tuple[tuple[str, str], list[tuple[str, str, str]]]] = [
    (
        ("Deposits", "充值"),
        [
            *_ways(Direction.deposit),
            ("Bank transfer deposits", "银行转账充值", "Fiat deposits by bank transfer"),
        ],
    ),
    (
        ("Withdrawals", "提现"),
        [
            *_ways(Direction.withdrawal),
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

COMPONENT_COUNT = sum(len(components) for _, components in CATALOGUE)
