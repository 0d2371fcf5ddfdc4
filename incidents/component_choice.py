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
        if not (self.component_ids or self.networks or self.assets):
            raise Invalid(N_("component_ids: name components, networks or assets"))
        if self.direction is not None and not (self.networks or self.assets):
            raise Invalid(N_("direction: goes with networks or assets"))
        return self
