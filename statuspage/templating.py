"""Where the templates, catalogues and static files live, and the one Jinja environment factory."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

__all__ = ["CATALOGUES", "STATIC", "TEMPLATES", "environment"]

_PACKAGE = Path(__file__).resolve().parent
# An installed wheel carries templates/ inside the package (pyproject.toml maps the package
# statuspage.templates to it); a checkout, editable install or not, has it beside the package.
_SHIPPED = _PACKAGE / "templates"
TEMPLATES = _SHIPPED if _SHIPPED.is_dir() else _PACKAGE.parent / "templates"
CATALOGUES = TEMPLATES / "i18n"
STATIC = _PACKAGE / "static"


def environment(folder: str = "", *, keep_trailing_newline: bool = False) -> Environment:
    """HTML-escaping Jinja for the templates under `templates/<folder>`."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES / folder),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
