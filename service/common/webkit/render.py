"""The one Jinja2 set-up both sites share (the intake and the desk's local web app):
autoescaping everywhere (strings too), strict undefined, trimmed blocks, and the
language's catalog installed new-style (``_("%(num)s files", num=n)`` substitutes and
escapes placeholders). Each site adds its own templates folder and globals."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.common.i18n import translations


def base_environment(templates: Path, language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env
