"""Input and output shapes of the incident domain, validated at the boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from incidents.common.errors import N_, Invalid
from incidents.common.text import check_one_line as check_one_line
from incidents.common.text import check_text as check_text
from incidents.common.text import unsafe_character as unsafe_character
from incidents.component_choice import ComponentChoice, ComponentRechoice
from incidents.models import LANGUAGES as LANGUAGES  # defined beside the tables, named here too
from incidents.models import ComponentStatus, Direction, Impact, IncidentStatus, MaintenanceStatus
from incidents.networks import NetworkFields, Reason, check_network_fields

Language = Annotated[
    str, Field(pattern=r"^(en|zh-CN)$", description="a supported language: en or zh-CN")
]

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    if not _EARLIEST <= moment <= _LATEST:
        raise Invalid(N_("must be between 2000-01-01 and 2100-01-01 (UTC)"))
    return moment


# An aware time in a range a status page can mean (it also keeps UTC conversion in range).
When = Annotated[AwareDatetime, AfterValidator(_plausible)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_one_line)]
Body = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(check_text)]
Cause = Annotated[str, Field(min_length=1, max_length=2_000), AfterValidator(check_text)]
Description = Annotated[str, Field(max_length=2_000), AfterValidator(check_text)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Position = Annotated[int, Field(ge=0, le=100_000)]
ComponentStatuses = Annotated[dict[Id, ComponentStatus], Field(max_length=500)]
ComponentIds = Annotated[list[Id], Field(max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- translations -------------------------------------------------------------------------


class NameText(_In):
    name: Name


class NameDescriptionText(_In):
    name: Name
    description: Description = ""


class UpdateText(_In):
    body: Body
    cause: Cause | None = None


class IncidentText(_In):
    name: Name | None = None
    body: Body
    cause: Cause | None = None


class MaintenanceText(_In):
    name: Name | None = None
    body: Body


class BodyText(_In):
    body: Body


# -- components and groups ----------------------------------------------------------------


class GroupIn(_In):
    name: Name
    description: Description = ""
    position: Position | None = None
    translations: dict[Language, NameDescriptionText] = {}


class GroupPatch(_In):
    name: Name | None = None
    description: Description | None = None
    position: Position | None = None
    translations: dict[Language, NameDescriptionText] | None = None


class ComponentIn(_In, NetworkFields):
    name: Name
    description: Description = ""
    group_id: Id | None = None
    position: Position | None = None
    showcase: bool = True
    hidden: bool = Field(default=False, description="kept off every public surface")
    translations: dict[Language, NameDescriptionText] = {}

    @model_validator(mode="after")
    def _whole_network(self) -> ComponentIn:
        check_network_fields(self.asset, self.network, self.direction)
        return self


class ComponentPatch(_In, NetworkFields):
    """Only the fields sent change; `group_id: null` ungroups; asset, network and direction
    go together (null for all three: no network any more); `hidden` keeps it off the public."""

    name: Name | None = None
    description: Description | None = None
    group_id: Id | None = None
    position: Position | None = None
    showcase: bool | None = None
    hidden: bool | None = None
    status: ComponentStatus | None = Field(default=None, description="set by hand, no incident")
    reason: dict[Language, Reason] | None = Field(default=None, description="why, per language")
    translations: dict[Language, NameDescriptionText] | None = None


class ReorderIn(_In):
    ids: Annotated[list[Id], Field(min_length=1, max_length=1_000)]

    @model_validator(mode="after")
    def _unique(self) -> ReorderIn:
        if len(set(self.ids)) != len(self.ids):
            raise Invalid(N_("ids: each id may appear only once"))
        return self


# -- incidents ----------------------------------------------------------------------------


class _UpdateFields(_In):
    body: Body
    cause: Cause | None = None
    expected_resolution_at: When | None = None
    display_at: When | None = Field(
        default=None, description="when the update is shown as posted; may be back-dated"
    )
    notify: bool = True
    language: Language | None = None
    components: ComponentStatuses = Field(
        default={}, description="component id to the status this update sets"
    )


class IncidentOpen(_UpdateFields):
    name: Name
    impact: Impact | None = Field(
        default=None, description="if left out, derived from the component statuses set"
    )
    status: Literal["investigating", "identified", "monitoring"] = "investigating"
    component_ids: ComponentIds = Field(
        default=[], description="affected components; those in `components` are added"
    )
    draft: bool = False
    translations: dict[Language, IncidentText] = {}


class UpdateIn(_UpdateFields):
    status: IncidentStatus
    translations: dict[Language, UpdateText] = {}


class ResolveIn(_UpdateFields):
    """Components not in `components` that the incident left non-operational go operational."""

    translations: dict[Language, UpdateText] = {}


class ReopenIn(_UpdateFields):
    status: Literal["investigating", "identified", "monitoring"] = "investigating"
    translations: dict[Language, UpdateText] = {}


class UpdateEdit(_In):
    body: Body | None = None
    cause: Cause | None = None
    expected_resolution_at: When | None = None
    translations: dict[Language, UpdateText] | None = None


class ComponentCorrectionIn(_In):
    """Takes a component listed by mistake off an incident; `body` says so on the timeline."""

    component_id: Id
    body: Body
    notify: bool = True
    language: Language | None = None
    translations: dict[Language, BodyText] = {}


class IncidentPatch(_In):
    name: Name | None = None
    impact: Impact | None = None
    component_ids: ComponentIds | None = None
    translations: dict[Language, NameText] | None = None


class PostmortemIn(_In):
    body: Body
    language: Language | None = None
    translations: dict[Language, BodyText] = {}


# -- maintenance --------------------------------------------------------------------------


class MaintenanceIn(_In, ComponentChoice):
    name: Name
    body: Body
    scheduled_for: When
    scheduled_until: When
    notify: bool = True
    draft: bool = False
    auto_start: bool = Field(default=True, description="start it at scheduled_for")
    auto_complete: bool = Field(default=True, description="complete it at scheduled_until")
    language: Language | None = None
    translations: dict[Language, MaintenanceText] = {}

    @model_validator(mode="after")
    def _window(self) -> MaintenanceIn:
        if self.scheduled_until <= self.scheduled_for:
            raise Invalid(N_("scheduled_until: must be after scheduled_for"))
        return self


class MaintenancePatch(_In, ComponentRechoice):
    name: Name | None = None
    scheduled_for: When | None = None
    scheduled_until: When | None = None
    translations: dict[Language, NameText] | None = None
    auto_start: bool | None = None
    auto_complete: bool | None = None
    draft: Literal[False] | None = Field(
        default=None, description="false publishes a draft (and announces it)"
    )
    notify: bool = Field(default=True, description="tell subscribers of a new schedule")


class MaintenanceUpdateIn(_In):
    status: MaintenanceStatus
    body: Body
    display_at: When | None = None
    notify: bool = True
    language: Language | None = None
    translations: dict[Language, BodyText] = {}


class MaintenanceCancelIn(_In):
    body: Body
    notify: bool = True
    language: Language | None = None
    translations: dict[Language, BodyText] = {}


# -- outputs ------------------------------------------------------------------------------


class GroupOut(_Out):
    id: int
    name: str
    description: str
    position: int
    translations: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ComponentOut(_Out):
    id: int
    group_id: int | None
    name: str
    description: str
    position: int
    showcase: bool
    hidden: bool
    status: ComponentStatus
    manual_status: ComponentStatus
    asset: str | None
    network: str | None
    direction: Direction | None
    translations: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ComponentChangeOut(_Out):
    component_id: int
    old_status: ComponentStatus
    new_status: ComponentStatus


class UpdateOut(_Out):
    id: int
    status: IncidentStatus
    body: str
    cause: str | None
    language: str
    translations: dict[str, Any]
    expected_resolution_at: datetime | None
    display_at: datetime
    notify: bool
    author_id: int | None
    edited_at: datetime | None = Field(description="when its text was last corrected")
    corrected_component_id: int | None = Field(description="a correction: the component taken off")
    created_at: datetime
    updated_at: datetime
    component_changes: list[ComponentChangeOut]


class SegmentOut(_Out):
    start: datetime
    end: datetime | None
    status: ComponentStatus


class ImpactWindowOut(_Out):
    component_id: int
    start: datetime
    end: datetime | None
    segments: list[SegmentOut]


class IncidentOut(_Out):
    id: int
    shortlink: str
    name: str
    language: str
    translations: dict[str, Any]
    impact: Impact
    status: IncidentStatus
    draft: bool
    started_at: datetime
    resolved_at: datetime | None
    postmortem_body: str | None
    postmortem_published_at: datetime | None
    component_ids: list[int]
    created_at: datetime
    updated_at: datetime
    updates: list[UpdateOut]
    impact_windows: list[ImpactWindowOut]


class MaintenanceUpdateOut(_Out):
    id: int
    status: MaintenanceStatus
    body: str
    language: str
    translations: dict[str, Any]
    display_at: datetime
    notify: bool
    author_id: int | None
    created_at: datetime


class MaintenanceOut(_Out):
    id: int
    shortlink: str
    name: str
    language: str
    translations: dict[str, Any]
    status: MaintenanceStatus
    draft: bool
    auto_start: bool
    auto_complete: bool
    scheduled_for: datetime
    scheduled_until: datetime
    started_at: datetime | None
    completed_at: datetime | None
    component_ids: list[int]
    series_id: int | None = Field(description="the recurring maintenance it is a window of")
    created_at: datetime
    updated_at: datetime
    updates: list[MaintenanceUpdateOut]


class AuditOut(_Out):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
