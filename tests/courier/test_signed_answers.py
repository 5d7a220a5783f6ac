"""Audit F-08: statuses and replies carry the coalition's signature end to end.

The desk signs each record over the case's reply key; the server keeps the signature with
what it applied. ``aryz status`` (``service.field.client.status``) checks it against the
pinned key and its own reply key; the status page checks it against the registry's key.
What the server adds, moves or changes on its own shows as not verified (client) or not
at all (page). On e75117f the server dropped the signatures and showed every row.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.common.clock import current_week
from service.common.crypto.keys import fingerprint, generate_signing_keypair
from service.field.client import status as client_status
from service.field.trust import Trust, TrustError
from service.server.deps import Runtime
from service.server.models import Case, Reply
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    case_refs,
    outbox,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.support import demo_trust, file_report

KZ = "kz-coalition"
ANSWER = "Мы получили ваше сообщение."
LURE = "Срочно: юрист ждёт вас завтра в 10:00, ул. Абая 1."


def _trust(runtime: Runtime) -> Trust:
    return demo_trust(str(runtime.settings.registry_path))


def _two_cases(client: TestClient, runtime: Runtime) -> tuple[str, str, str, str]:
    first = file_report(client, narrative="first")
    (ref_first,) = case_refs(runtime)
    second = file_report(client, narrative="second")
    ref_second = next(r for r in case_refs(runtime) if r != ref_first)
    return first, ref_first, second, ref_second


def test_signed_answers_verify_and_forged_ones_do_not(
    client: TestClient, runtime: Runtime, kz: DeskKeys, kz_courier: Courier
) -> None:
    first, ref_first, second, ref_second = _two_cases(client, runtime)
    key = reply_public_key(runtime, ref_first).hex()
    sealed = sealed_reply(bytes.fromhex(key), ANSWER)
    pushed = kz_courier.push(
        outbox(
            kz,
            [
                status(KZ, ref_first, 1, "will_contact", key=key),
                reply(KZ, ref_first, 2, sealed, key=key),
            ],
        )
    )
    assert pushed.status_code == 200, pushed.text
    seen = client_status(client, first, trust=_trust(runtime))
    assert (seen["status"], seen["status_verified"]) == ("will_contact", True)
    assert (seen["replies"], seen["replies_verified"]) == ([ANSWER], [True])
    page = client.post("/en/status", data={"token": first})
    assert "We will contact you" in page.text
    assert ANSWER in page.text

    # The server, on its own: a forged reply and status in the second case, and the first
    # case's genuine signed reply and status copied over to the second.
    with runtime.sessions() as session, session.begin():
        target = session.scalars(select(Case).where(Case.ref == bytes.fromhex(ref_second))).one()
        source = session.scalars(select(Case).where(Case.ref == bytes.fromhex(ref_first))).one()
        genuine = session.scalars(select(Reply).where(Reply.case_id == source.id)).one()
        session.add(
            Reply(
                case_id=target.id,
                seq=1,
                data=sealed_reply(target.reply_public_key, LURE),
                created_week=current_week(),
            )
        )
        session.add(
            Reply(
                case_id=target.id,
                seq=2,
                data=genuine.data,
                signature=genuine.signature,
                keyed=True,
                created_week=current_week(),
            )
        )
        session.execute(
            update(Case)
            .where(Case.id == target.id)
            .values(
                status="referred",
                status_seq=2,
                status_signed_seq=source.status_signed_seq,
                status_signature=source.status_signature,
                status_keyed=True,
            )
        )
    seen = client_status(client, second, trust=_trust(runtime))
    assert seen["status"] == "referred"
    assert seen["status_verified"] is False
    assert seen["replies"][0] == LURE  # opened (it is sealed to this case) …
    assert seen["replies_verified"] == [False, False]  # … but not the coalition's
    page = client.post("/en/status", data={"token": second})
    assert page.status_code == 200
    assert LURE not in page.text
    assert "Referred to a lawyer" not in page.text
    assert "Received" in page.text


def test_a_record_keyed_to_another_case_is_refused(
    client: TestClient, runtime: Runtime, kz: DeskKeys, kz_courier: Courier
) -> None:
    _first, ref_first, _second, ref_second = _two_cases(client, runtime)
    other_key = reply_public_key(runtime, ref_second).hex()
    pushed = kz_courier.push(outbox(kz, [status(KZ, ref_first, 1, "closed", key=other_key)]))
    assert pushed.status_code >= 400
    with runtime.sessions() as session:
        assert set(session.scalars(select(Case.status))) == {"received"}


def test_unkeyed_records_show_on_the_page_but_are_not_verified_by_the_client(
    client: TestClient, runtime: Runtime, kz: DeskKeys, kz_courier: Courier
) -> None:
    token = file_report(client, narrative="old desk")
    (ref,) = case_refs(runtime)
    sealed = sealed_reply(reply_public_key(runtime, ref), ANSWER)
    pushed = kz_courier.push(
        outbox(kz, [status(KZ, ref, 1, "under_review"), reply(KZ, ref, 2, sealed)])
    )
    assert pushed.status_code == 200
    page = client.post("/en/status", data={"token": token})
    assert "Under review" in page.text
    assert ANSWER in page.text
    seen = client_status(client, token, trust=_trust(runtime))
    assert (seen["status_verified"], seen["replies_verified"]) == (False, [False])


def test_status_refuses_a_signing_key_other_than_the_pinned_one(
    client: TestClient, runtime: Runtime
) -> None:
    token = file_report(client, narrative="pinned")
    pinned = fingerprint(generate_signing_keypair().verify)
    with pytest.raises(TrustError, match="Expected fingerprint: " + pinned):
        client_status(client, token, trust=Trust(given=(pinned,), store=None))


def test_the_keys_page_shows_each_signing_fingerprint(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/en/keys")
    assert page.status_code == 200
    for coalition in runtime.registry.coalitions:
        assert coalition.signing_fingerprint in page.text
