"""Exceptions of the incident domain, each with its HTTP meaning stated once. A message is an
English template with `%(name)s` parameters, marked `N_` so the console's catalogues find it:
the staff API answers the English, the console the staffer's language."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a message for translation where it is written; it stays English here."""
    return message


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        message = template % params if params else template
        super().__init__(message)
        self.message = message
        self.template = template
        self.params = params
        self.field = field


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class InvalidTransition(DomainError):
    status_code = 409
    code = "invalid_transition"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    """Input that is well-formed but refers to something impossible (an unknown component)."""

    status_code = 422
    code = "invalid_input"


class Invalid(ValueError):
    """A value a schema's validator refuses: a ValueError (so pydantic reports it by field)
    whose message is a template as a DomainError's is."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params
