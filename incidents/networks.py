"""Networks: components that stand for an asset's deposits or withdrawals on one chain, and
the state a holder sees on each, derived from the component's status (no second set of flags)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from incidents.common.errors import N_, Invalid
from incidents.common.text import check_one_line
from incidents.models import Component, ComponentStatus, Direction, NetworkState

Asset = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,16}$", description="e.g. USDT")]
Network = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$", description="e.g. TRC20")
]

# Slower than usual but still going through: a holder may go on (Binance's `busy`). Anything
# worse, and a maintenance, stops deposits or withdrawals on the network.
_STATE_OF_STATUS = {
    ComponentStatus.operational: NetworkState.open,
    ComponentStatus.degraded_performance: NetworkState.delayed,
    ComponentStatus.partial_outage: NetworkState.suspended,
    ComponentStatus.major_outage: NetworkState.suspended,
    ComponentStatus.under_maintenance: NetworkState.suspended,
}

Reason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(check_one_line)]


class NetworkFields(BaseModel):
    """What makes a component stand for a network (the staff API's component fields)."""

    asset: Asset | None = None
    network: Network | None = None
    direction: Direction | None = Field(
        default=None, description="with asset and network: the component stands for that way"
    )


def check_network_fields(asset: str | None, network: str | None, direction: object) -> None:
    """A component stands for a network's deposits or withdrawals with all three, or for none."""
    given = {"asset": asset, "network": network, "direction": direction}
    missing = [name for name, value in given.items() if value is None]
    if missing and len(missing) < len(given):
        raise Invalid(
            N_("%(missing)s: asset, network and direction go together"), missing=missing[0]
        )


def network_state(status: ComponentStatus) -> NetworkState:
    return _STATE_OF_STATUS[status]


@dataclass(frozen=True)
class NetworkRow:
    """One asset on one network, with the component of each way it is listed for."""

    asset: str
    network: str
    deposit: Component | None
    withdrawal: Component | None


def matrix(components: Iterable[Component]) -> list[NetworkRow]:
    """Every asset and network some component stands for, by asset then network name."""
    found: dict[tuple[str, str], dict[Direction, Component]] = {}
    for component in components:
        if component.asset and component.network and component.direction:
            key = (component.asset, component.network)
            found.setdefault(key, {})[component.direction] = component
    return [
        NetworkRow(asset, network, ways.get(Direction.deposit), ways.get(Direction.withdrawal))
        for (asset, network), ways in sorted(found.items(), key=lambda item: _order(item[0]))
    ]


def _order(key: tuple[str, str]) -> tuple[str, str]:
    return key[0], key[1].casefold()


class NetworkChoice(BaseModel):
    """An asset on a network, as a subscriber picks it ("USDT on TRC20"): the components
    standing for it, both ways unless `direction` names one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset: Asset
    network: Network
    direction: Direction | None = Field(default=None, description="omitted: both ways")


def components_on(components: Iterable[Component], choice: NetworkChoice) -> list[Component]:
    """The components a choice names (network names match in any letter case)."""
    return [
        component
        for component in components
        if component.asset == choice.asset
        and (component.network or "").casefold() == choice.network.casefold()
        and component.direction is not None
        and (choice.direction is None or component.direction == choice.direction)
    ]
