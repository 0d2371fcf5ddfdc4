"""The console's compensation policies: the form (rows of fields, never JSON), creating a
policy and editing one, each edit a new version that drafts take when refreshed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from compensation import service
from compensation.events import EventKind
from compensation.models import Policy
from compensation.schemas import PolicyPatch
from incidents import service as incident_service
from statuspage.console.batches import _, say
from statuspage.console.kit import Console
from statuspage.console.posted import FormError

TIER_ROWS = 5  # rows of the tiers table on the form; empty rows are skipped
_PAIRS = ("budget", "per_account_cap", "minimum_payout")


def _pairs(console: Console, field: str) -> dict[str, str]:
    """`USDT=100, BTC=0.001` into {"USDT": "100", "BTC": "0.001"}."""
    found: dict[str, str] = {}
    for part in console.field(field).replace("\n", ",").split(","):
        if not part.strip():
            continue
        asset, sign, amount = part.partition("=")
        if not sign or not asset.strip() or not amount.strip():
            example = _("write amounts as ASSET=amount, e.g. USDT=100 (not %(part)s)")
            raise FormError({field: say(console, example, part=part.strip())})
        found[asset.strip().upper()] = amount.strip()
    return found


def _tiers(console: Console) -> list[dict[str, str]] | None:
    rows = []
    for index in range(TIER_ROWS):
        at_least = console.field(f"tier_at_least_{index}")
        amount = console.field(f"tier_amount_{index}")
        if at_least or amount:
            rows.append({"at_least": at_least or "0", "amount": amount or "0"})
    return rows or None


def _ids(console: Console, values: list[str], field: str) -> list[int]:
    if not all(value.isdigit() for value in values):
        raise FormError({field: say(console, _("choose components from the list"))})
    return [int(value) for value in values]


def policy_rules(console: Console, kind: str) -> dict[str, Any]:
    """The posted form as the rules the staff API takes."""
    assets = console.field("assets").replace(",", " ").upper().split()
    components = console.fields("components")
    rules: dict[str, Any] = {
        "kind": kind,
        "event_kinds": console.fields("event_kinds"),
        "components": _ids(console, components, "components") if components else None,
        "assets": assets or None,
        "grace_before_minutes": console.field("grace_before_minutes") or "0",
        "grace_after_minutes": console.field("grace_after_minutes") or "0",
        "exclusions": console.field("exclusions").split(),
        "budget": _pairs(console, "budget"),
        "validity_days": console.field("validity_days") or "90",
    }
    if kind == "coupon":
        tiers = _tiers(console)
        rules["asset"] = console.field("asset").upper()
        rules["amount"] = None if tiers else console.field("amount") or None
        rules["tiers"] = tiers
        rules["tier_basis"] = console.field("tier_basis") or "volume"
    else:
        rules["percent"] = console.field("percent") or None
        rules["per_account_cap"] = _pairs(console, "per_account_cap")
        rules["minimum_payout"] = _pairs(console, "minimum_payout")
    return rules


def short_names(error: FormError) -> FormError:
    """`rules.fee_refund.percent` → `percent`: the form's own field names."""
    named: dict[str, str] = {}
    for name, text in error.errors.items():
        parts = name.split(".")
        short = ".".join(parts[2:]) if parts[0] == "rules" and len(parts) > 2 else parts[0]
        if parts[0] == "rules" and len(parts) <= 2:
            short = text.split(":", 1)[0] if ":" in text else "kind"
        named.setdefault(short, text)
    return FormError(named, error.status)


def entered(rules: dict[str, Any]) -> dict[str, Any]:
    """A policy version's rules as the form shows them, to edit."""
    shown: dict[str, Any] = {
        name: ", ".join(f"{asset}={amount}" for asset, amount in rules.get(name, {}).items())
        for name in _PAIRS
    }
    shown["kind"] = rules["kind"]
    for name in ("percent", "asset", "amount", "tier_basis"):
        shown[name] = "" if rules.get(name) is None else str(rules[name])
    for name in ("grace_before_minutes", "grace_after_minutes", "validity_days"):
        shown[name] = str(rules.get(name, ""))
    shown["exclusions"] = "\n".join(rules.get("exclusions", []))
    shown["assets"] = ", ".join(rules.get("assets") or [])
    shown["components"] = [str(c) for c in rules.get("components") or []]
    shown["event_kinds"] = list(rules.get("event_kinds", []))
    for index, tier in enumerate(rules.get("tiers") or []):
        shown[f"tier_at_least_{index}"] = str(tier["at_least"])
        shown[f"tier_amount_{index}"] = str(tier["amount"])
    return shown


def posted(console: Console) -> dict[str, Any]:
    """The form as it was sent, to show it again with its errors."""
    shown: dict[str, Any] = {name: console.field(name) for name in console.form}
    shown["components"] = console.fields("components")
    shown["event_kinds"] = console.fields("event_kinds")
    return shown


async def form_choices(db: AsyncSession) -> dict[str, Any]:
    """What the policy form offers: the event kinds, the components, the tier rows."""
    components = await incident_service.list_components(db)
    return {
        "event_kinds": list(EventKind),
        "all_components": components,
        "component_names": {component.id: component.name for component in components},
        "tier_rows": TIER_ROWS,
    }


async def policy_page(console: Console, *, status: int = 200, **values: Any) -> Response:
    policy_id = console.id("policy_id")

    async def load(db: AsyncSession) -> dict[str, Any]:
        policy = await service.get_policy(db, policy_id=policy_id)
        return {"policy": policy, **await form_choices(db)}

    loaded = await console.read(load)
    policy: Policy = loaded["policy"]
    values.setdefault("policy_form", entered(policy.rules))
    return console.render("policy.html", status=status, **loaded, **values)


async def update_policy(console: Console) -> Response:
    """A new version of the policy: batches drafted earlier keep theirs until refreshed."""
    policy_id = console.id("policy_id")
    try:
        policy = await console.read(lambda db: service.get_policy(db, policy_id=policy_id))
        try:
            body = console.parse(PolicyPatch, {"rules": policy_rules(console, policy.kind.value)})
        except FormError as error:
            raise short_names(error) from error
        assert isinstance(body, PolicyPatch)
        await console.write(
            lambda db: service.update_policy(
                db, policy_id=policy_id, value=body.rules, actor_id=console.staffer.id
            )
        )
    except FormError as error:
        return await policy_page(
            console, status=error.status, errors=error.errors, policy_form=posted(console)
        )
    return console.redirect(f"/staff/finance/policies/{policy_id}", done="policy_updated")
