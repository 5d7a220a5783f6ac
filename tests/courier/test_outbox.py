"""Outboxes: signed by the coalition, applied all or nothing, strictly in sequence; acks
delete ciphertext; the submitter then sees the status and reads the reply."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.common.contract.outbox import Record
from service.common.crypto.keys import generate_box_keypair, generate_signing_keypair
from service.common.crypto.token import format_token
from service.field.client import status as client_status
from service.server.deps import Runtime
from service.server.models import (
    ACKNOWLEDGED,
    COMPLETE,
    AppliedOutbox,
    Case,
    Item,
    ItemChunk,
    Reply,
)
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    ack,
    case_refs,
    item_refs,
    outbox,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.support import add_files, count, file_report

KZ = "kz-coalition"
ANSWER = "Мы получили ваше сообщение. Адвокат свяжется с вами."


def _snapshot(runtime: Runtime) -> tuple[object, ...]:
    """Everything an outbox may change, to show that a refused one changed nothing."""
    with runtime.sessions() as session:
        cases = session.execute(select(Case.id, Case.status, Case.status_seq).order_by(Case.id))
        items = session.execute(select(Item.id, Item.state).order_by(Item.id))
        rows = (tuple(cases.all()), tuple(items.all()))
    # One session at a time: on SQLite each takes the write lock at BEGIN.
    return (*rows, count(runtime, ItemChunk), count(runtime, Reply), count(runtime, AppliedOutbox))


@pytest.fixture
def filed(client: TestClient, runtime: Runtime) -> tuple[str, str]:
    """One KZ case with its answers and a file: (token, case ref)."""
    token = file_report(client, narrative="filed")
    add_files(client, token, [("photo.jpg", b"\xff\xd8" + b"x" * 2000)])
    (case,) = case_refs(runtime)
    return token, case


def test_status_reply_and_ack_are_applied_and_shown(
    client: TestClient,
    kz_courier: Courier,
    kz: DeskKeys,
    runtime: Runtime,
    filed: tuple[str, str],
) -> None:
    token, case = filed
    items = item_refs(runtime, case)
    sealed = sealed_reply(reply_public_key(runtime, case), ANSWER)
    data = outbox(
        kz,
        [
            status(KZ, case, 1, "under_review"),
            reply(KZ, case, 2, sealed),
            ack(KZ, case, 3, items),
        ],
    )
    response = kz_courier.push(data)
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": True, "already": False, "records": 3}
    # The desk holds the items now: their ciphertext is gone, the rows stay counted.
    assert count(runtime, ItemChunk) == 0
    assert count(runtime, Item, Item.state == ACKNOWLEDGED) == 2
    with runtime.sessions() as session:
        stored = session.scalars(select(Case)).one()
        assert (stored.status, stored.status_seq) == ("under_review", 3)
        assert session.scalars(select(Reply.data)).one() == sealed

    page = client.post("/en/status", data={"token": format_token(token)})
    assert page.status_code == 200
    assert "Under review" in page.text
    assert ANSWER in page.text
    assert "holds 2 sealed items" in page.text
    assert "already taken 2 of them" in page.text
    russian = client.post("/ru/status", data={"token": token})
    assert "Рассматривается" in russian.text
    assert ANSWER in russian.text

    # The JSON API hands the reply out sealed; the client opens it with the token.
    api = client.post("/api/v1/status", json={"lookup_id": _lookup_id(token)})
    assert ANSWER.encode() not in api.content
    assert client_status(client, token)["replies"] == [ANSWER]

    # A courier retrying after a lost response: same bytes, "already", nothing changes.
    before = _snapshot(runtime)
    again = kz_courier.push(data)
    assert again.status_code == 200
    assert again.json() == {"applied": False, "already": True, "records": 0}
    assert _snapshot(runtime) == before


def _lookup_id(token: str) -> str:
    from service.common.crypto.token import MIN_LIMITS, derive

    return derive(token, MIN_LIMITS).lookup_id.hex()


def _refused(courier: Courier, runtime: Runtime, data: bytes, status_code: int, code: str) -> None:
    before = _snapshot(runtime)
    response = courier.push(data)
    assert response.status_code == status_code, response.text
    assert response.json()["error"] == code
    assert _snapshot(runtime) == before


def test_bad_signature_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    forger = DeskKeys(KZ, generate_signing_keypair().seed, kz.courier_seed, kz.courier_key_id)
    _refused(kz_courier, runtime, outbox(forger, [status(KZ, case, 1, "closed")]), 400, "outbox")


def test_a_tampered_record_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    data = outbox(kz, [status(KZ, case, 1, "under_review")])
    _refused(kz_courier, runtime, data.replace(b"under_review", b"closed"), 400, "outbox")


def test_replay_of_an_applied_record_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    assert kz_courier.push(outbox(kz, [status(KZ, case, 1, "closed")])).status_code == 200
    # A different outbox carrying the same seq (e.g. an older status resent later).
    replayed = outbox(kz, [status(KZ, case, 1, "under_review")])
    _refused(kz_courier, runtime, replayed, 409, "outbox_sequence")


def test_gap_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    _refused(
        kz_courier, runtime, outbox(kz, [status(KZ, case, 2, "closed")]), 409, "outbox_sequence"
    )


def test_reorder_is_refused_and_nothing_before_it_applies(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    records = [
        status(KZ, case, 2, "closed"),
        status(KZ, case, 1, "under_review"),
    ]
    _refused(kz_courier, runtime, outbox(kz, records), 409, "outbox_sequence")


def test_one_bad_record_spoils_the_whole_outbox(
    client: TestClient,
    kz_courier: Courier,
    kz: DeskKeys,
    runtime: Runtime,
    filed: tuple[str, str],
) -> None:
    _token, case = filed
    file_report(client, narrative="another case")
    other = case_refs(runtime)[1]
    records = [
        status(KZ, case, 1, "under_review"),
        ack(KZ, case, 2, item_refs(runtime, case)),
        status(KZ, other, 2, "closed"),  # gap in the second case
    ]
    _refused(kz_courier, runtime, outbox(kz, records), 409, "outbox_sequence")
    assert count(runtime, Item, Item.state == COMPLETE) == 3


def test_record_for_another_coalitions_case_is_refused(
    client: TestClient,
    kz_courier: Courier,
    kz: DeskKeys,
    runtime: Runtime,
    filed: tuple[str, str],
) -> None:
    file_report(client, narrative="kg", country="KG")
    (kg_case,) = case_refs(runtime, "kg-coalition")
    # Signed by Kazakhstan's desk, naming Kyrgyzstan's case: not found for this coalition.
    data = outbox(kz, [status(KZ, kg_case, 1, "closed")])
    _refused(kz_courier, runtime, data, 400, "outbox_case")


def test_another_coalitions_outbox_is_refused(
    client: TestClient,
    kz_courier: Courier,
    kg: DeskKeys,
    runtime: Runtime,
) -> None:
    file_report(client, narrative="kg", country="KG")
    (kg_case,) = case_refs(runtime, "kg-coalition")
    # Kyrgyzstan's own, validly signed outbox, delivered by Kazakhstan's courier.
    data = outbox(kg, [status("kg-coalition", kg_case, 1, "closed")])
    _refused(kz_courier, runtime, data, 403, "outbox_coalition")


def test_record_naming_another_coalition_inside_the_outbox_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    data = outbox(kz, [status("kg-coalition", case, 1, "closed")])
    _refused(kz_courier, runtime, data, 400, "outbox")


def test_unknown_case_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    data = outbox(kz, [status(KZ, "ab" * 16, 1, "closed")])
    _refused(kz_courier, runtime, data, 400, "outbox_case")


def test_ack_of_an_item_of_another_case_is_refused(
    client: TestClient,
    kz_courier: Courier,
    kz: DeskKeys,
    runtime: Runtime,
    filed: tuple[str, str],
) -> None:
    _token, case = filed
    file_report(client, narrative="second case")
    other = case_refs(runtime)[1]
    data = outbox(kz, [ack(KZ, case, 1, item_refs(runtime, other))])
    _refused(kz_courier, runtime, data, 400, "outbox_item")
    unknown = outbox(kz, [ack(KZ, case, 1, ["cd" * 16])])
    _refused(kz_courier, runtime, unknown, 400, "outbox_item")


def test_reply_not_sealed_to_the_case_is_refused(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    _token, case = filed
    stranger = sealed_reply(generate_box_keypair().public, "to someone else")
    _refused(kz_courier, runtime, outbox(kz, [reply(KZ, case, 1, stranger)]), 400, "outbox_reply")
    garbage = outbox(kz, [reply(KZ, case, 1, b"not an envelope")])
    _refused(kz_courier, runtime, garbage, 400, "outbox_reply")


@pytest.mark.parametrize(
    "data", [b"", b"{}", b"[]", b"\xff\xfe", b'{"format": "aryz-outbox", "version": 9}']
)
def test_garbage_outbox_gets_a_fixed_error(
    kz_courier: Courier, runtime: Runtime, data: bytes
) -> None:
    _refused(kz_courier, runtime, data, 400, "outbox")


def test_empty_outbox_is_refused(kz_courier: Courier, kz: DeskKeys, runtime: Runtime) -> None:
    _refused(kz_courier, runtime, outbox(kz, []), 400, "outbox")


def test_unopenable_reply_is_shown_as_such(
    client: TestClient,
    kz_courier: Courier,
    kz: DeskKeys,
    runtime: Runtime,
    filed: tuple[str, str],
) -> None:
    token, case = filed
    key = reply_public_key(runtime, case)
    damaged = bytearray(sealed_reply(key, "damaged"))
    damaged[-5] ^= 1  # inside the final chunk: the header and framing still look right
    records: list[Record] = [
        reply(KZ, case, 1, bytes(damaged)),
        reply(KZ, case, 2, sealed_reply(key, "<b>second</b>")),
    ]
    assert kz_courier.push(outbox(kz, records)).status_code == 200
    page = client.post("/en/status", data={"token": token})
    assert page.status_code == 200
    assert "A reply could not be opened." in page.text
    # Escaped, and newest last.
    assert "&lt;b&gt;second&lt;/b&gt;" in page.text
    assert page.text.index("could not be opened") < page.text.index("second")
    assert client_status(client, token)["replies"] == [None, "<b>second</b>"]


def test_deeply_nested_outboxes_are_refused_not_a_server_error(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, str]
) -> None:
    # Attack F5: 100,000 nested arrays, or one record body nested 50,000 deep, gave a 500
    # and a traceback (RecursionError escaped the outbox reader).
    _refused(kz_courier, runtime, b"[" * 100_000 + b"]" * 100_000, 400, "outbox")
    _token, case = filed
    document = json.loads(outbox(kz, [status(KZ, case, 1, "closed")]))
    document["records"][0]["body"] = "NESTED"
    nested = json.dumps(document).encode().replace(b'"NESTED"', b"[" * 50_000 + b"]" * 50_000)
    _refused(kz_courier, runtime, nested, 400, "outbox")
