"""The desk's pages: Jinja2 with gettext, the same settings as the intake site.

Each language's environment is built like the intake's (``service.common.webkit.render``):
the same autoescaping, strict undefined, trimming and installed catalog, with the desk's
own templates. No JavaScript anywhere; one stylesheet, served by the app itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse

from service.common.i18n import LANGUAGES, translations
from service.common.webkit.render import base_environment

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


@cache
def environment(language: str) -> Environment:
    return base_environment(TEMPLATES_DIR, language)


def gettext(language: str) -> Callable[[str], str]:
    """The catalog's ``gettext`` for translating labels in Python (plain text)."""
    return translations(language).gettext


def page(
    template: str, language: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    html = (
        environment(language)
        .get_template(template)
        .render(**context, lang=language, languages=LANGUAGES)
    )
    return HTMLResponse(html, status_code=status_code)


@cache
def stylesheet() -> bytes:
    return (STATIC_DIR / "desk.css").read_bytes()
