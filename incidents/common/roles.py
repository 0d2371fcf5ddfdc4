"""Staff roles and who may act where: an enum without SQLAlchemy, so the command line can offer
the roles without loading the tables."""

from __future__ import annotations

import enum


class StaffRole(enum.StrEnum):
    support = "support"
    finance = "finance"
    admin = "admin"
    # The exchange platform's service account: redeems vouchers and looks them up by
    # account, with API tokens only (no console, no password).
    platform = "platform"


# Who may act where. An admin may do everything (the access checks let admins in), and the
# platform's service account only what names it.
SUPPORT = frozenset({StaffRole.support})
FINANCE = frozenset({StaffRole.finance})
ADMIN = frozenset({StaffRole.admin})
ANY_STAFF = SUPPORT | FINANCE  # every person (admins being let in everywhere), not the platform
FINANCE_OR_PLATFORM = FINANCE | {StaffRole.platform}
