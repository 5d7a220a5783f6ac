"""Server-side rendering: Jinja2 templates with gettext. Every page works without
JavaScript; the pages that take files also load ``/static/upload.js``
(service/server/web/assets)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from service.common.i18n import LANGUAGES, translations
from service.server.web.assets import integrity

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Status pages are padded to a multiple of this, so their size does not tell an observer
# of the (encrypted) traffic whether a case exists or has replies (security brief item 9).
PAD_BLOCK = 16 * 1024


@cache
def environment(language: str) -> Environment:
    """One environment per language, with its catalog installed (new-style gettext:
    ``_("%(num)s files", num=n)`` substitutes and escapes placeholders)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["integrity"] = integrity
    return env


def render_html(template: str, language: str, context: dict[str, Any]) -> str:
    return (
        environment(language)
        .get_template(template)
        .render(**context, lang=language, languages=LANGUAGES)
    )


def page(
    template: str,
    language: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    pad: bool = False,
) -> HTMLResponse:
    html = render_html(template, language, context or {})
    body = html.encode("utf-8")
    if pad:
        body = pad_html(body)
    return HTMLResponse(body, status_code=status_code)


def pad_html(body: bytes, block: int = PAD_BLOCK) -> bytes:
    """Pad with an HTML comment so the length is a multiple of ``block`` bytes."""
    overhead = len(b"<!---->\n")
    target = -(-(len(body) + overhead) // block) * block
    return body + b"<!--" + b" " * (target - len(body) - overhead) + b"-->\n"


@cache
def stylesheet() -> bytes:
    return (STATIC_DIR / "aryz.css").read_bytes()
