"""Console forms read into the incident domain's input shapes, in the site's two languages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from incidents.broadcasting.schemas import ScheduleUpdateIn
from incidents.models import Component
from incidents.schemas import (
    LANGUAGES,
    ComponentCorrectionIn,
    IncidentOpen,
    MaintenanceCancelIn,
    MaintenanceIn,
    MaintenancePatch,
    MaintenanceUpdateIn,
    PostmortemIn,
    ReopenIn,
    ResolveIn,
    UpdateEdit,
    UpdateIn,
)
from statuspage.console.kit import Console
from statuspage.console.posted import FormError, local_time
from statuspage.templating import TEMPLATES


@dataclass(frozen=True)
class IncidentTemplate:
    key: str
    label: str
    impact: str
    status: str
    components: list[str]
    component_status: str
    name: dict[str, str]
    body: dict[str, str]

    def preselected(self, components: list[Component]) -> dict[int, str]:
        """Component id -> status, for those whose names contain one of the template's words."""
        return {
            component.id: self.component_status
            for component in components
            if any(word in component.name.lower() for word in self.components)
        }


@cache
def incident_templates() -> dict[str, IncidentTemplate]:
    raw = json.loads((TEMPLATES / "console" / "incident_templates.json").read_text("utf-8"))
    return {item["key"]: IncidentTemplate(**item) for item in raw["templates"]}


def _own(console: Console) -> str:
    return console.settings.default_language


def _texts(console: Console, name: str) -> dict[str, str]:
    return {lang: console.field(f"{name}_{lang}") for lang in LANGUAGES}


def _translations(console: Console, *names: str) -> dict[str, dict[str, str | None]]:
    """The other languages' texts, for each language something was written in."""
    found: dict[str, dict[str, str | None]] = {}
    for lang in LANGUAGES:
        if lang == _own(console):
            continue
        texts = {name: console.field(f"{name}_{lang}") or None for name in names}
        if any(texts.values()):
            found[lang] = texts
    return found


def component_statuses(console: Console) -> dict[str, str]:
    """Each component's one control, `status_<id>`: a status, or empty (not affected when
    opening, unchanged in an update)."""
    return {
        name.removeprefix("status_"): str(value)
        for name, value in console.form.multi_items()
        if name.startswith("status_") and value
    }


def _update_fields(console: Console) -> dict[str, Any]:
    own = _own(console)
    return {
        "body": console.field(f"body_{own}"),
        "cause": console.field(f"cause_{own}") or None,
        "expected_resolution_at": local_time(
            console.field("eta"), console.zone, "eta", console.language
        ),
        "notify": console.field("do_not_notify") != "on",
        "language": own,
        "components": component_statuses(console),
        "translations": _translations(console, "body", "cause"),
    }


def incident_open(console: Console, *, draft: bool = False) -> IncidentOpen:
    """The affected components are those given a status (the form has no other control)."""
    own = _own(console)
    translations = _translations(console, "name", "body", "cause")
    fields = _update_fields(console)
    data = {
        **fields,
        "name": console.field(f"name_{own}"),
        "impact": console.field("impact") or None,
        "status": console.field("status") or "investigating",
        "component_ids": list(
            dict.fromkeys([*console.fields("component_ids"), *fields["components"]])
        ),
        "translations": translations,
        "draft": draft,
    }
    result: IncidentOpen = console.parse(IncidentOpen, data)
    return result


def update_in(console: Console) -> UpdateIn:
    result: UpdateIn = console.parse(
        UpdateIn, {**_update_fields(console), "status": console.field("status")}
    )
    return result


def reopen_in(console: Console) -> ReopenIn:
    result: ReopenIn = console.parse(
        ReopenIn, {**_update_fields(console), "status": console.field("status")}
    )
    return result


def update_edit_in(console: Console, language: str) -> UpdateEdit:
    """A posted update's text again, read in the language it was written in."""
    others = {
        lang: {
            "body": console.field(f"body_{lang}"),
            "cause": console.field(f"cause_{lang}") or None,
        }
        for lang in LANGUAGES
        if lang != language and (console.field(f"body_{lang}") or console.field(f"cause_{lang}"))
    }
    data = {
        "body": console.field(f"body_{language}"),
        "cause": console.field(f"cause_{language}") or None,
        "expected_resolution_at": local_time(
            console.field("eta"), console.zone, "eta", console.language
        ),
        "translations": others,
    }
    result: UpdateEdit = console.parse(UpdateEdit, data)
    return result


def correction_in(console: Console) -> ComponentCorrectionIn:
    data = {**_bodies(console), "component_id": console.field("component_id")}
    result: ComponentCorrectionIn = console.parse(ComponentCorrectionIn, data)
    return result


def schedule_in(console: Console) -> ScheduleUpdateIn:
    run_at = local_time(console.field("run_at"), console.zone, "run_at", console.language)
    if run_at is None:
        raise FormError({"run_at": console.say("choose when the update goes out")})
    result: ScheduleUpdateIn = console.parse(
        ScheduleUpdateIn, {"run_at": run_at, "update": update_in(console).model_dump()}
    )
    return result


def resolve_in(console: Console) -> ResolveIn:
    fields = _update_fields(console)
    fields.pop("expected_resolution_at")
    result: ResolveIn = console.parse(ResolveIn, fields)
    return result


def postmortem_in(console: Console) -> PostmortemIn:
    own = _own(console)
    translations = {
        lang: {"body": text["body"]}
        for lang, text in _translations(console, "body").items()
        if text["body"]
    }
    data = {"body": console.field(f"body_{own}"), "language": own, "translations": translations}
    result: PostmortemIn = console.parse(PostmortemIn, data)
    return result


def _window(console: Console) -> tuple[datetime | None, datetime | None]:
    return (
        local_time(console.field("scheduled_for"), console.zone, "scheduled_for", console.language),
        local_time(
            console.field("scheduled_until"), console.zone, "scheduled_until", console.language
        ),
    )


def maintenance_in(console: Console) -> MaintenanceIn:
    own = _own(console)
    starts, ends = _window(console)
    data = {
        "name": console.field(f"name_{own}"),
        "body": console.field(f"body_{own}"),
        "scheduled_for": starts,
        "scheduled_until": ends,
        **component_choice(console),
        "notify": console.field("do_not_notify") != "on",
        "auto_start": console.field("auto_start") == "on",
        "auto_complete": console.field("auto_complete") == "on",
        "language": own,
        "translations": {
            lang: text for lang, text in _translations(console, "name", "body").items()
        },
    }
    result: MaintenanceIn = console.parse(MaintenanceIn, data)
    return result


def component_choice(console: Console) -> dict[str, Any]:
    """Components by id, and by network or asset (`_network_choice.html`)."""
    return {
        "component_ids": console.fields("component_ids"),
        "networks": console.fields("networks"),
        "assets": console.fields("assets"),
        "direction": console.field("direction") or None,
    }


def maintenance_patch(console: Console) -> MaintenancePatch:
    own = _own(console)
    starts, ends = _window(console)
    names = {
        lang: {"name": text["name"]}
        for lang, text in _translations(console, "name").items()
        if text["name"]
    }
    data = {
        "name": console.field(f"name_{own}") or None,
        "scheduled_for": starts,
        "scheduled_until": ends,
        # The form lists every component: what is ticked (and the networks and assets
        # ticked beside) is what the maintenance covers once saved, none ticked a refusal.
        **component_choice(console),
        "translations": names or None,
        "notify": console.field("do_not_notify") != "on",
    }
    result: MaintenancePatch = console.parse(MaintenancePatch, data)
    return result


def _bodies(console: Console) -> dict[str, Any]:
    """A body in the site's language and its translations, and whether to notify."""
    own = _own(console)
    translations = {
        lang: {"body": text["body"]}
        for lang, text in _translations(console, "body").items()
        if text["body"]
    }
    return {
        "body": console.field(f"body_{own}"),
        "notify": console.field("do_not_notify") != "on",
        "language": own,
        "translations": translations,
    }


def maintenance_update_in(console: Console) -> MaintenanceUpdateIn:
    data = {**_bodies(console), "status": console.field("status")}
    result: MaintenanceUpdateIn = console.parse(MaintenanceUpdateIn, data)
    return result


def maintenance_cancel_in(console: Console) -> MaintenanceCancelIn:
    result: MaintenanceCancelIn = console.parse(MaintenanceCancelIn, _bodies(console))
    return result


def entered(console: Console) -> dict[str, Any]:
    """What the person typed, to show the form again with an error or a preview."""
    values: dict[str, Any] = {name: console.field(name) for name in console.form}
    values["component_ids"] = console.fields("component_ids")
    values["networks"], values["assets"] = console.fields("networks"), console.fields("assets")
    values["statuses"] = component_statuses(console)
    return values


def texts_of(console: Console, name: str) -> dict[str, str]:
    return _texts(console, name)
