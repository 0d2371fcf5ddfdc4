"""Exceptions of the compensation domain, each with its HTTP meaning stated once."""

from __future__ import annotations

from incidents.common.errors import (
    N_,
    Conflict,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
)

__all__ = [
    "N_",
    "BudgetExceeded",
    "Conflict",
    "DomainError",
    "FourEyes",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "RedemptionRefused",
]


class FourEyes(DomainError):
    """The person who drafted a batch may not approve it (a conflict with who drafted it, not
    a missing role: 403 stays the answer for roles)."""

    status_code = 409
    code = "four_eyes"


class BudgetExceeded(DomainError):
    status_code = 409
    code = "budget_exceeded"


class RedemptionRefused(DomainError):
    """A voucher that cannot be redeemed: wrong account, expired, voided, already redeemed."""

    status_code = 409

    def __init__(
        self, message: str, *, code: str, field: str | None = "code", **params: object
    ) -> None:
        super().__init__(message, field=field, **params)
        self.code = code
