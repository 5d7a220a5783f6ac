"""Sizes that say nothing (audit F-07, F-16).

Status pages are one size whatever they say, replies included: the newest replies that
fit are shown and older ones are one padded page away. Stored items are padded inside
their encryption to size classes, so a stored length no longer tells a file's size.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.common.contract.outbox import Record
from service.common.crypto.envelope import header_length
from service.common.crypto.padding import size_class
from service.common.crypto.token import KdfLimits, derive, generate_token, parse_token
from service.common.i18n import LANGUAGES as ALL_LANGUAGES
from service.server.api.routes import STATUS_ANSWER_SIZE
from service.server.courier.outboxes import apply_outbox
from service.server.deps import Runtime
from service.server.models import Item
from service.server.web.render import PAGE_SIZE
from tests.courier.helpers import case_refs, desk, outbox, reply, reply_public_key, sealed_reply
from tests.support import add_files, file_report

KZ = "kz-coalition"
LANGUAGES = tuple(ALL_LANGUAGES)


def _answer(runtime: Runtime, registry_dir: Path, records: list[Record]) -> None:
    coalition = runtime.registry.get(KZ)
    assert coalition is not None
    apply_outbox(runtime, coalition, outbox(desk(registry_dir, KZ), records))


def _replies(runtime: Runtime, registry_dir: Path, case: str, texts: list[str]) -> None:
    key = reply_public_key(runtime, case)
    records = [reply(KZ, case, n, sealed_reply(key, t)) for n, t in enumerate(texts, start=1)]
    _answer(runtime, registry_dir, records)


def _status(client: TestClient, lang: str, token: str, skip: int | None = None) -> bytes:
    data = {"token": token} if skip is None else {"token": token, "skip": str(skip)}
    return bytes(client.post(f"/{lang}/status", data=data).content)


def test_unknown_fresh_and_50_kb_of_replies_are_one_size(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    fresh = file_report(client, narrative="no answer yet")
    answered = file_report(client, narrative="answered")
    case = case_refs(runtime)[1]
    # 50 KB of replies in all: five of 10 KB, Cyrillic (two bytes a letter).
    texts = [f"Ответ {n}. " + "Ваше дело передано адвокату. " * 190 for n in range(5)]
    assert sum(len(t.encode()) for t in texts) > 50_000
    _replies(runtime, registry_dir, case, texts)
    for lang in LANGUAGES:
        pages = {
            "unknown": _status(client, lang, generate_token()),
            "fresh": _status(client, lang, fresh),
            "answered": _status(client, lang, answered),
        }
        assert {what: len(p) for what, p in pages.items()} == dict.fromkeys(pages, PAGE_SIZE)
        # Not merely the same size: the newest replies really are on the page.
        assert "Ответ 4." in pages["answered"].decode()


def _api_status(client: TestClient, runtime: Runtime, token: str) -> tuple[int, bytes]:
    limits = KdfLimits(runtime.settings.kdf_opslimit, runtime.settings.kdf_memlimit)
    lookup = derive(parse_token(token), limits).lookup_id.hex()
    response = client.post("/api/v1/status", json={"lookup_id": lookup})
    return response.status_code, bytes(response.content)


def test_the_json_status_answer_is_padded_like_the_page(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    fresh = file_report(client, narrative="no answer yet")
    answered = file_report(client, narrative="answered")
    longer = file_report(client, narrative="answered at length")
    refs = case_refs(runtime)
    _replies(runtime, registry_dir, refs[1], ["Ваше дело передано адвокату."] * 2)
    texts = [f"Ответ {n}. " + "Ваше дело передано адвокату. " * 190 for n in range(5)]
    _replies(runtime, registry_dir, refs[2], texts)
    answers = {
        "unknown": _api_status(client, runtime, generate_token()),
        "fresh": _api_status(client, runtime, fresh),
        "answered": _api_status(client, runtime, answered),
    }
    assert [code for code, _ in answers.values()] == [404, 200, 200]
    assert {what: len(body) for what, (_, body) in answers.items()} == dict.fromkeys(
        answers, STATUS_ANSWER_SIZE
    )
    # Still plain JSON to any reader, replies included.
    assert len(json.loads(answers["answered"][1])["replies"]) == 2
    assert json.loads(answers["unknown"][1])["error"] == "not_found"
    # Beyond one step (50 KB of sealed replies) the answer grows in whole steps.
    code, body = _api_status(client, runtime, longer)
    assert code == 200
    assert len(body) % STATUS_ANSWER_SIZE == 0
    assert len(body) > STATUS_ANSWER_SIZE
    assert len(json.loads(body)["replies"]) == 5


def test_the_audits_two_replies_no_longer_double_the_page(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    # F-07: one reply of 11,700 bytes and one of 2,960 made the page 32 KiB, not 16.
    token = file_report(client)
    (case,) = case_refs(runtime)
    _replies(runtime, registry_dir, case, ["x" * 11_700, "y" * 2_960])
    for lang in ("en", "ru"):
        page = _status(client, lang, token)
        assert len(page) == len(_status(client, lang, generate_token())) == PAGE_SIZE
        assert "x" * 11_700 in page.decode()
        assert "y" * 2_960 in page.decode()


def test_replies_beyond_one_page_are_a_padded_page_away(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    token = file_report(client)
    (case,) = case_refs(runtime)
    texts = [f"Reply number {n:02d}. " + "Details of the case. " * 900 for n in range(12)]
    _replies(runtime, registry_dir, case, texts)
    seen: list[int] = []
    skip: int | None = None
    for _page in range(12):
        page = _status(client, "en", token, skip)
        assert len(page) == PAGE_SIZE
        text = page.decode()
        shown = [int(n) for n in re.findall(r"Reply number (\d\d)\.", text)]
        assert shown, "every page shows at least one reply"
        assert shown == sorted(shown)  # oldest first, as before
        seen = shown + seen
        match = re.search(r'name="skip" value="(\d+)"', text)
        if match is None:
            assert "earlier answer" not in text
            break
        assert "earlier answers are not shown" in text or "earlier answer is not" in text
        skip = int(match.group(1))
    # Every reply, newest pages first, each exactly once.
    assert seen == list(range(12))


def test_a_reply_longer_than_a_page_is_shortened_not_grown(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    token = file_report(client)
    (case,) = case_refs(runtime)
    _replies(runtime, registry_dir, case, ["Beginning. " + "z" * 200_000])
    page = _status(client, "en", token)
    assert len(page) == PAGE_SIZE
    assert "Beginning. zzz" in page.decode()
    assert "too long to show here in full" in page.decode()


@pytest.mark.parametrize(
    ("size", "padded"),
    [(1, 4096), (1_000, 4096), (100_000, 131_072)],
)
def test_stored_items_fall_into_the_stated_classes(
    client: TestClient, runtime: Runtime, size: int, padded: int
) -> None:
    token = file_report(client)
    response = add_files(client, token, [("evidence.bin", b"\x01" * size)])
    assert response.status_code == 200
    with runtime.sessions() as session:
        stored = session.scalars(select(Item.size).order_by(Item.id.desc()).limit(1)).one()
    coalition = runtime.registry.get(KZ)
    assert coalition is not None
    header = header_length(len(coalition.recipients))
    # ENVELOPE-v3.md §2: 4 KiB, 16 KiB, 64 KiB, then 96, 128, 192, 256 KiB ...
    assert stored == header + padded + 17 * max(1, -(-padded // 65_536))
    assert size_class(size + 1) <= padded


def test_files_of_similar_size_are_stored_alike(client: TestClient, runtime: Runtime) -> None:
    token = file_report(client)
    add_files(client, token, [("a.bin", b"\x01" * 70_000), ("b.bin", b"\x02" * 90_000)])
    with runtime.sessions() as session:
        sizes = session.scalars(select(Item.size).order_by(Item.id.desc()).limit(2)).all()
    assert sizes[0] == sizes[1]
