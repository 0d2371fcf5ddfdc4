"""Choosing the components a maintenance covers by id, by network or by asset: a chain upgrade
names the network once instead of fourteen ids (issue 18)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from incidents.common.errors import N_, Invalid
from incidents.models import Direction
from incidents.networks import Asset, Network

_Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ComponentChoice(BaseModel):
    component_ids: Annotated[list[_Id], Field(max_length=500)] = []
    networks: Annotated[list[Network], Field(max_length=100)] = Field(
        default=[], description="every component standing for one of these networks"
    )
    assets: Annotated[list[Asset], Field(max_length=100)] = Field(
        default=[], description="every component standing for one of these assets"
    )
    direction: Direction | None = Field(
        default=None, description="with networks or assets: only deposits, or only withdrawals"
    )

    @model_validator(mode="after")
    def _something_chosen(self) -> ComponentChoice:
        _check_choice(self.component_ids, self.networks, self.assets, self.direction, needed=True)
        return self


class ComponentRechoice(BaseModel):
    """An edit's new components, chosen as a new one's are (`ComponentChoice`): by id, by
    network, by asset, each omitted to keep the components as they are. Given, they replace
    the components with exactly what they name."""

    component_ids: Annotated[list[_Id], Field(max_length=500)] | None = None
    networks: Annotated[list[Network], Field(max_length=100)] | None = Field(
        default=None, description="every component standing for one of these networks"
    )
    assets: Annotated[list[Asset], Field(max_length=100)] | None = Field(
        default=None, description="every component standing for one of these assets"
    )
    direction: Direction | None = Field(
        default=None, description="with networks or assets: only deposits, or only withdrawals"
    )

    @model_validator(mode="after")
    def _chosen_whole(self) -> ComponentRechoice:
        given = (self.component_ids, self.networks, self.assets)
        needed = any(named is not None for named in given)  # else the components stay
        _check_choice(*given, self.direction, needed=needed)
        return self

    def chosen(self) -> ComponentChoice | None:
        """The new choice, or None when the edit keeps the components."""
        if not (self.component_ids or self.networks or self.assets):
            return None
        return ComponentChoice.model_construct(
            component_ids=self.component_ids or [],
            networks=self.networks or [],
            assets=self.assets or [],
            direction=self.direction,
        )


def _check_choice(
    component_ids: list[int] | None,
    networks: list[str] | None,
    assets: list[str] | None,
    direction: Direction | None,
    *,
    needed: bool,
) -> None:
    """A choice (where one is `needed`) names something; a direction goes only beside
    networks or assets."""
    if needed and not (component_ids or networks or assets):
        raise Invalid(N_("component_ids: name components, networks or assets"))
    if direction is not None and not (networks or assets):
        raise Invalid(N_("direction: goes with networks or assets"))
