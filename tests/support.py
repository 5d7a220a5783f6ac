"""Helpers the tests share: file a report through the no-JS form, open stored items."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from service.common.crypto.keys import BoxKeyPair
from service.server.cli.demo_read import open_item
from service.server.deps import Runtime
from service.server.models import COMPLETE, Case, Item

TOKEN_FIELD = re.compile(r'name="token" value="(\d{24})"')
STATE_FIELD = re.compile(r'name="state" value="([A-Za-z0-9_=-]+)"')
Answer = str | list[str]


def state_of(html: str) -> str:
    """The sealed state a questionnaire page carries."""
    match = STATE_FIELD.search(html)
    assert match is not None
    return match.group(1)


def _keys(answers: dict[str, Answer]) -> dict[str, Answer]:
    # Keyword arguments cannot hold dots: ``victim__sex`` is ``victim.sex``, and
    # ``narrative`` alone is short for the free account, ``narrative.text``.
    named = {k.replace("__", "."): v for k, v in answers.items()}
    if "narrative" in named:
        named["narrative.text"] = named.pop("narrative")
    return named


def reach_review(
    client: httpx.Client,
    lang: str = "en",
    *,
    country: str = "KZ",
    recipient: str = "national",
    **answers: Answer,
) -> httpx.Response:
    """Walk the questionnaire as a browser without JavaScript does: each step that has
    answers is posted with the state the previous page carried, then the review."""
    from service.common.questionnaire.known import CURRENT

    fields = _keys(answers)
    sections = {s.id for s in CURRENT.parts}
    assert all(k.split(".")[0] in sections for k in fields), "not a key of the questionnaire"
    wanted = [
        s.id
        for s in CURRENT.parts
        if s.id == CURRENT.parts[0].id or any(k.split(".")[0] == s.id for k in fields)
    ]
    state = state_of(client.get(f"/{lang}/report").text)
    response: httpx.Response | None = None
    for index, section in enumerate(wanted):
        form: dict[str, Answer] = {
            "state": state,
            "step": section,
            "go": wanted[index + 1] if index + 1 < len(wanted) else "review",
            **{k: v for k, v in fields.items() if k.split(".")[0] == section},
        }
        if index == 0:
            form.update(country=country, recipient=recipient)
        response = client.post(f"/{lang}/report", data=form)
        assert response.status_code == 200, response.text[:500]
        state = state_of(response.text)
    assert response is not None
    return response


def review(client: httpx.Client, lang: str = "en", **answers: Answer) -> str:
    """Go through the questionnaire; return the token the review page carries."""
    response = reach_review(client, lang, **answers)  # type: ignore[arg-type]
    match = TOKEN_FIELD.search(response.text)
    assert match is not None
    return match.group(1)


def file_report(client: httpx.Client, lang: str = "en", **answers: Answer) -> str:
    """File a report through the steps, review and send; return the token."""
    page = reach_review(client, lang, **answers)  # type: ignore[arg-type]
    match = TOKEN_FIELD.search(page.text)
    assert match is not None
    form = {"state": state_of(page.text), "token": match.group(1), "action": "send"}
    response = client.post(f"/{lang}/report/submit", data=form)
    assert response.status_code == 200, response.text[:500]
    assert "token" in response.text
    return match.group(1)


def add_files(
    client: httpx.Client, token: str, files: list[tuple[str, bytes]], lang: str = "en"
) -> Any:
    return client.post(
        f"/{lang}/case/files",
        data={"token": token},
        files=[("file", (name, data, "application/octet-stream")) for name, data in files],
    )


def opened_items(
    runtime: Runtime, keys: dict[str, BoxKeyPair]
) -> list[tuple[dict[str, object], bytes]]:
    """Every complete item, decrypted with the coalition's (demo) private key."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Item.id, Case.coalition_id)
            .join(Case, Case.id == Item.case_id)
            .where(Item.state == COMPLETE)
            .order_by(Item.id)
        ).all()
    return [open_item(runtime.sessions, item_id, keys[cid]) for item_id, cid in rows]


def count(runtime: Runtime, model: type[Any], *where: Any) -> int:
    with runtime.sessions() as session:
        return len(session.scalars(select(model).where(*where)).all())


def opened_items_at(
    data_dir: Path, database_url: str, registry_dir: Path, keys: dict[str, BoxKeyPair]
) -> list[tuple[dict[str, object], bytes]]:
    """Open every item a (stopped) server process stored, as the desk would."""
    from service.server.app import build_runtime
    from tests.conftest import make_settings

    runtime = build_runtime(make_settings(data_dir, database_url, registry_dir))
    try:
        return opened_items(runtime, keys)
    finally:
        runtime.engine.dispose()


def run_aryz(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``aryz`` command as a user would (a fresh interpreter), capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
    )
