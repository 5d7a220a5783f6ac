"""Helpers the tests share: file a report through the no-JS form, open stored items."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from service.common.crypto.envelope import seal
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, TokenSecrets, derive, generate_token
from service.field.trust import Trust
from service.server.cli.demo_read import open_item
from service.server.deps import Runtime
from service.server.models import COMPLETE, Case, Item
from service.server.registry.logic import parse_registry

TOKEN_FIELD = re.compile(r'name="token" value="(\d{24})"')
STATE_FIELD = re.compile(r'name="state" value="([A-Za-z0-9_=-]+)"')
MARK_FIELD = re.compile(r'name="token_mark" value="([0-9a-f]{32})"')
Answer = str | list[str]


def state_of(html: str) -> str:
    """The sealed state a questionnaire page carries."""
    match = STATE_FIELD.search(html)
    assert match is not None
    return match.group(1)


def mark_of(html: str) -> str:
    """The server's mark beside the token a write or review page carries (attack F12)."""
    match = MARK_FIELD.search(html)
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
    """File a report through the steps, review and send; return the token. With no
    answers given, the account is a placeholder: an empty report is refused."""
    if not any(k not in ("country", "recipient") for k in answers):
        answers = {**answers, "narrative": "(test report)"}
    page = reach_review(client, lang, **answers)  # type: ignore[arg-type]
    match = TOKEN_FIELD.search(page.text)
    assert match is not None
    form = {
        "state": state_of(page.text),
        "token": match.group(1),
        "token_mark": mark_of(page.text),
        "action": "send",
    }
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


def demo_trust(registry: Path | str) -> Trust:
    """Trust the signing keys of every coalition of a demo registry (a registry.toml or
    its folder), as a person holding their fingerprints would; remembers nothing."""
    registry = Path(registry)
    path = registry / "registry.toml" if registry.is_dir() else registry
    parsed = parse_registry(path.read_text(encoding="utf-8"))
    return Trust(given=tuple(c.signing_fingerprint for c in parsed.coalitions), store=None)


def trust_args(registry: Path | str) -> list[str]:
    """``--trust FP`` for every coalition of a demo registry, for ``aryz submit/status``."""
    return [arg for fp in demo_trust(registry).given for arg in ("--trust", fp)]


def api_recipients(client: httpx.Client, coalition: str = "kg-coalition") -> list[bytes]:
    """The coalition's current public keys, as the API's /info gives them."""
    info = client.get("/api/v1/info").json()
    (entry,) = [c for c in info["coalitions"] if c["id"] == coalition]
    return [bytes.fromhex(k["public_key"]) for k in entry["keys"]]


def api_case(client: httpx.Client, coalition: str = "kg-coalition") -> TokenSecrets:
    """A new case made through the JSON API, as a client that seals does it."""
    secrets = derive(generate_token(), MIN_LIMITS)
    body = encode_payload_prefix({"type": "answers"}) + b'{"answers": {}}'
    sealed = seal(body, api_recipients(client, coalition))
    created = client.post(
        "/api/v1/cases",
        json={
            "coalition": coalition,
            "lookup_id": secrets.lookup_id.hex(),
            "reply_public_key": secrets.reply.public.hex(),
            "answers": base64.b64encode(sealed).decode(),
        },
    )
    assert created.status_code == 201, created.text
    return secrets


def without_duty(text: str) -> str:
    """A registry's text without its coalitions' duty keys (the urgent lane)."""
    return re.sub(
        r"^\[\[coalition\.duty\]\]\n(?:(?:epoch|public_key|ack_key|fingerprint|revoked) = .*\n)+",
        "",
        text,
        flags=re.M,
    )


def without_statements(text: str) -> str:
    """A registry's text without its key statements, and so without the duty keys that
    need one (a test that rotates or edits keys signs nothing)."""
    return without_duty(re.sub(r"^key_statement = .*\n", "", text, flags=re.M))
