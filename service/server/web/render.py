"""Server-side rendering: Jinja2 templates with gettext. Every page works without
JavaScript; the pages that take files also load ``/static/upload.js``
(service/server/web/assets)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse

from service.common.i18n import LANGUAGES
from service.common.webkit.render import base_environment
from service.server.web.assets import integrity

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Every padded page (status, not found, files or message received) is exactly this long,
# so its size does not tell an observer of the (encrypted) traffic whether a case exists,
# what it holds or whether it has replies (SECURITY.md guarantee 9, audit F-07). Replies are
# fitted into it (fitted_page): the newest that fit are shown, older ones a click away.
PAGE_SIZE = 48 * 1024  # under the 50 KB every page keeps to (tests/browser)
_COMMENT = len(b"<!---->\n")
# For the stylesheet under its versioned name only (a year; never revalidated).
IMMUTABLE = "public, max-age=31536000, immutable"


@cache
def environment(language: str) -> Environment:
    """One environment per language, with its catalog installed (new-style gettext:
    ``_("%(num)s files", num=n)`` substitutes and escapes placeholders)."""
    env = base_environment(TEMPLATES_DIR, language)
    env.globals["integrity"] = integrity
    env.globals["stylesheet_url"] = f"/static/aryz.{stylesheet_version()}.css"
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


def pad_html(body: bytes, size: int = PAGE_SIZE) -> bytes:
    """Pad with an HTML comment to exactly ``size`` bytes.

    A page that does not fit (none should: the pages that grow are fitted first) is padded
    to a multiple of ``size`` rather than cut.
    """
    target = -(-(len(body) + _COMMENT) // size) * size
    return body + b"<!--" + b" " * (target - len(body) - _COMMENT) + b"-->\n"


def fits(body: bytes, size: int = PAGE_SIZE) -> bool:
    return len(body) + _COMMENT <= size


def fitted_page(
    template: str,
    language: str,
    context: dict[str, Any],
    replies: list[str | None],
    skip: int = 0,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A padded page showing the newest of ``replies`` (oldest first) that fit in it.

    ``skip`` leaves out that many of the newest (the page of earlier replies). The
    template gets ``replies`` (those shown), ``earlier`` (older ones not shown),
    ``next_skip`` (what its "earlier" form sends) and ``shortened`` (the only reply shown
    is the beginning of one too long for a page on its own).
    """
    available = replies[: max(0, len(replies) - skip)]

    def render(shown: list[str | None], shortened: bool = False) -> bytes:
        values = {
            "replies": shown,
            "earlier": len(available) - len(shown),
            "next_skip": skip + len(shown),
            "shortened": shortened,
        }
        return render_html(template, language, {**context, **values}).encode("utf-8")

    # The largest number of the newest replies that fits (page size grows with it).
    low, high = 0, len(available)
    best = render([])
    while low < high:
        middle = (low + high + 1) // 2
        body = render(available[len(available) - middle :])
        if fits(body):
            low, best = middle, body
        else:
            high = middle - 1
    newest = available[-1] if available else None
    if low == 0 and newest is not None:
        # One reply longer than a page: show its beginning, as much as fits.
        short, long = 0, len(newest)
        while short < long:
            middle = (short + long + 1) // 2
            body = render([newest[:middle]], shortened=True)
            if fits(body):
                short, best = middle, body
            else:
                long = middle - 1
    return HTMLResponse(pad_html(best), status_code=status_code)


@cache
def stylesheet() -> bytes:
    return (STATIC_DIR / "aryz.css").read_bytes()


@cache
def stylesheet_version() -> str:
    """Part of the stylesheet's address that changes whenever its content does."""
    return hashlib.sha256(stylesheet()).hexdigest()[:16]
