"""The urgent lane (issue 17), in process on SQLite and PostgreSQL.

A report with the urgent consent, filed through the no-JavaScript write page, leaves one
urgent record sealed to the coalition's duty key, holding nothing but its few answers;
the full case still goes to the desk. Without the consent, or to a coalition without a
duty key, there is none. The duty watch opens it and runs the hook with the record on
standard input; the officer's signed acknowledgement deletes it and shows on the status
page, and only while its signature checks.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.common.contract.credential import Credential, load_credential
from service.common.contract.duty import (
    FIELDS,
    DutyAck,
    UrgentError,
    clean_answers,
    read_urgent,
    sign_ack,
)
from service.common.contract.duty_key import DutyKey, load_duty_key, new_duty_key
from service.common.contract.outbox import OutboxError, Record, record_from_body
from service.common.crypto.envelope import open_envelope, parse_header, seal
from service.common.crypto.keys import BoxKeyPair, key_id
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, derive, generate_token
from service.field.client import ClientError
from service.field.client import status as client_status
from service.field.client import submit as client_submit
from service.field.duty import DutyError, Folder, ack, alert, poll, watch
from service.server.deps import Runtime
from service.server.models import Case, UrgentRecord
from tests.courier.helpers import (
    PREFIX,
    Courier,
    DeskKeys,
    case_refs,
    reply_public_key,
)
from tests.courier.helpers import outbox as outbox_bytes
from tests.support import (
    TOKEN_FIELD,
    api_recipients,
    count,
    demo_trust,
    mark_of,
    opened_items,
    run_aryz,
    state_of,
)

EMPTY_FILE = {"file": ("", b"", "application/octet-stream")}
CANARY = "CANARY-NARRATIVE-7f3a"
URGENT = {
    "urgent.shown": "1",
    "urgent.consent": "yes",
    "urgent.region": "KZ-75",
    "urgent.place_type": "ivs",
    "urgent.place": "IVS of the Almalinsky district",
    "urgent.since": "last night, about 23:00",
    "urgent.needs": ["lawyer", "family"],
    "urgent.contact_ok": "yes",
    "urgent.contact": "Signal +7 700 000 0000",
}


def _send(client: TestClient, fields: dict[str, Any], lang: str = "en") -> tuple[str, Any]:
    page = client.get(f"/{lang}/report").text
    token = TOKEN_FIELD.search(page)
    assert token is not None
    form = {
        "state": state_of(page),
        "token": token.group(1),
        "token_mark": mark_of(page),
        "recipient": "national",
        **fields,
    }
    response = client.post(f"/{lang}/report/send?then=send", data=form, files=EMPTY_FILE)
    assert response.status_code == 200, response.text
    return token.group(1), response


def _duty(registry_dir: Path, coalition: str = "kz-coalition") -> tuple[Credential, DutyKey]:
    return (
        load_credential(registry_dir / "couriers" / f"{coalition}.json"),
        load_duty_key(registry_dir / "duty-keys" / f"{coalition}.json"),
    )


def _records(runtime: Runtime) -> list[UrgentRecord]:
    with runtime.sessions() as session:
        return list(session.scalars(select(UrgentRecord)))


def test_the_write_page_offers_the_urgent_lane_without_javascript(client: TestClient) -> None:
    page = client.get("/en/report").text
    assert "<details" in page
    assert 'name="urgent.consent"' in page
    assert "can be read on a connected computer" in page
    # The part of the form after the urgent fields still ends with the file input, and
    # nothing of it needs a script.
    assert page.index('name="urgent.contact"') < page.index('type="file"')


def test_urgent_consent_seals_only_the_few_answers_to_the_duty_key(
    client: TestClient, runtime: Runtime, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    _token, response = _send(client, {"narrative.text": CANARY, "country": "KZ", **URGENT})
    assert "sent to the duty officer" in response.text
    (row,) = _records(runtime)
    _credential, duty = _duty(registry_dir)
    # Sealed to the duty key alone, never to the desk's keys.
    header, _length = parse_header(row.data)
    assert [kid for kid, _ in header.recipients] == [key_id(duty.box.public)]
    plaintext = open_envelope(row.data, [duty.box])
    record = read_urgent(plaintext)
    assert set(record.answers) <= set(FIELDS)
    assert record.answers == {
        "country": "KZ",
        "region": "KZ-75",
        "place_type": "ivs",
        "place": "IVS of the Almalinsky district",
        "since": "last night, about 23:00",
        "needs": ["lawyer", "family"],
        "contact": "Signal +7 700 000 0000",
    }
    assert CANARY.encode() not in plaintext
    body = json.loads(plaintext)
    assert set(body) == {"format", "version", "coalition", "ref", "key", "week", "answers"}
    with runtime.sessions() as session:
        case = session.scalar(select(Case))
        assert case is not None
        assert case.urgent_ref == row.ref == record.ref
        assert case.reply_public_key == record.reply_key
    # The full case went to the desk as before, and the duty key cannot open it.
    ((meta, answers),) = opened_items(runtime, desk_keys)
    assert meta["type"] == "answers"
    assert CANARY.encode() in answers
    # ... with the few urgent answers inside it, so the desk knows (and counts) them.
    desk_body = json.loads(answers)
    assert desk_body["urgent"] == {"answers": record.answers, "sent": True}


@pytest.mark.parametrize(
    "fields",
    [
        {},  # the urgent part left alone
        {"urgent.shown": "1", "urgent.region": "unknown", "urgent.place_type": "unknown"},
        {k: v for k, v in URGENT.items() if k != "urgent.shown"},  # a page without it
    ],
)
def test_no_consent_no_urgent_record(
    client: TestClient, runtime: Runtime, fields: dict[str, Any]
) -> None:
    fields = {k: v for k, v in fields.items() if k != "urgent.consent"}
    _token, response = _send(client, {"narrative.text": "They took him", "country": "KZ", **fields})
    assert "duty officer" not in response.text
    assert _records(runtime) == []
    assert count(runtime, Case) == 1


def _write_form(client: TestClient, fields: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    page = client.get(f"/{lang}/report").text
    token = TOKEN_FIELD.search(page)
    assert token is not None
    return {
        "state": state_of(page),
        "token": token.group(1),
        "token_mark": mark_of(page),
        "recipient": "national",
        **fields,
    }


@pytest.mark.parametrize("then", ["send", "details"])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_urgent_answers_without_the_consent_ask_and_keep_everything(
    client: TestClient, runtime: Runtime, then: str, lang: str
) -> None:
    """Answers meant for the duty officer but no consent: not sent without them, not sent
    to the duty officer either; the page asks, with everything typed still in it."""
    unconsented = {k: v for k, v in URGENT.items() if k != "urgent.consent"}
    form = _write_form(client, {"narrative.text": CANARY, "country": "KZ", **unconsented}, lang)
    response = client.post(f"/{lang}/report/send?then={then}", data=form, files=EMPTY_FILE)
    assert response.status_code == 422
    text = response.text
    assert 'id="e-urgent"' in text
    if lang == "en":
        assert "did not tick the agreement" in text
    else:  # the message is translated, not left in English
        assert "did not tick the agreement" not in text
        assert "не отметили согласие" in text
    assert count(runtime, Case) == 0
    assert _records(runtime) == []
    # Everything typed is still on the page, the urgent part open, the consent unticked.
    assert CANARY in text
    assert '<details class="urgent" open>' in text
    assert 'value="KZ-75" selected' in text
    assert 'value="ivs" selected' in text
    for typed in ("IVS of the Almalinsky district", "last night, about 23:00", "Signal +7 700"):
        assert typed in text
    assert 'name="urgent.needs" value="lawyer" checked' in text
    assert 'name="urgent.needs" value="doctor" checked' not in text
    assert 'name="urgent.contact_ok" value="yes" checked' in text
    assert 'name="urgent.consent" value="yes" checked' not in text
    # Ticking the consent on that page sends both, as the person meant.
    again = {**form, **URGENT, "state": state_of(text), "token": TOKEN_FIELD.search(text).group(1),  # type: ignore[union-attr]
             "token_mark": mark_of(text)}  # fmt: skip
    sent = client.post(f"/{lang}/report/send?then=send", data=again, files=EMPTY_FILE)
    assert sent.status_code == 200
    assert count(runtime, Case) == 1
    assert len(_records(runtime)) == 1


def test_clearing_the_urgent_answers_sends_the_report_alone(
    client: TestClient, runtime: Runtime
) -> None:
    form = _write_form(client, {"narrative.text": "x", "country": "KZ", "urgent.shown": "1",
                                "urgent.place": "IVS"})  # fmt: skip
    first = client.post("/en/report/send?then=send", data=form, files=EMPTY_FILE)
    assert first.status_code == 422
    cleared = {**form, "urgent.place": "", "state": state_of(first.text),
               "token": TOKEN_FIELD.search(first.text).group(1),  # type: ignore[union-attr]
               "token_mark": mark_of(first.text)}  # fmt: skip
    sent = client.post("/en/report/send?then=send", data=cleared, files=EMPTY_FILE)
    assert sent.status_code == 200
    assert count(runtime, Case) == 1
    assert _records(runtime) == []


def _review_with(client: TestClient, fields: dict[str, Any]) -> str:
    form = _write_form(client, {"narrative.text": "held", "country": "KZ", **fields})
    step = client.post("/en/report/send?then=details", data=form, files=EMPTY_FILE)
    assert step.status_code == 200, step.text[:500]
    review = client.post(
        "/en/report",
        data={"state": state_of(step.text), "step": "filer", "go": "review", "country": "KZ",
              "recipient": "national", "narrative.text": "held"},
    )  # fmt: skip
    assert review.status_code == 200
    text: str = review.text
    assert "Check your report" in text
    return text


def test_the_review_repeats_what_goes_to_the_duty_officer(
    client: TestClient, runtime: Runtime
) -> None:
    without_contact = {k: v for k, v in URGENT.items() if k != "urgent.contact_ok"}
    review = _review_with(client, without_contact)
    section = review[review.index('class="review-section urgent"') :]
    section = section[: section.index("</section>")]
    assert "can be read on a connected computer" in section  # the consent given
    for shown in ("Almaty", "Temporary detention facility", "IVS of the Almalinsky district",
                  "last night, about 23:00", "A lawyer", "The family to be told"):  # fmt: skip
        assert shown in section, shown
    assert "A doctor" not in section
    # Exactly what goes: a contact without the agreement to be contacted does not.
    assert "Signal +7 700" not in section
    # "Change" leads back to the write page with the urgent part as it was.
    again = client.post(
        "/en/report",
        data={"state": state_of(review), "go": "write", "country": "KZ",
              "recipient": "national", "narrative.text": "held"},
    )  # fmt: skip
    assert again.status_code == 200
    assert '<details class="urgent" open>' in again.text
    assert 'name="urgent.consent" value="yes" checked' in again.text
    # Sending from the review sends the urgent record the review showed.
    token = TOKEN_FIELD.search(review)
    assert token is not None
    sent = client.post(
        "/en/report/submit",
        data={"state": state_of(review), "token": token.group(1), "token_mark": mark_of(review),
              "action": "send"},
    )  # fmt: skip
    assert sent.status_code == 200
    assert "sent to the duty officer" in sent.text
    assert len(_records(runtime)) == 1


def test_the_review_has_no_urgent_part_without_urgent_answers(client: TestClient) -> None:
    assert "review-section urgent" not in _review_with(client, {})


def test_contact_goes_only_when_agreed(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    fields = {k: v for k, v in URGENT.items() if k != "urgent.contact_ok"}
    _send(client, {"narrative.text": "held", "country": "KZ", **fields})
    (row,) = _records(runtime)
    record = read_urgent(open_envelope(row.data, [_duty(registry_dir)[1].box]))
    assert "contact" not in record.answers


def test_a_coalition_without_a_duty_key_gets_no_urgent_record(
    client: TestClient, runtime: Runtime
) -> None:
    fields = {"narrative.text": "held", "country": "KZ", **URGENT, "recipient": "iphr"}
    _token, response = _send(client, fields)
    assert "no duty officer" in response.text
    assert _records(runtime) == []


CLI_URGENT = {
    "region": "KZ-75",
    "place_type": "ivs",
    "place": "IVS of the Almalinsky district",
    "since": "last night",
    "needs": ["lawyer"],
    "contact": "Signal +7 700 000 0000",
}


def _api_submit(client: TestClient, registry_dir: Path, tmp_path: Path, **kwargs: Any) -> str:
    trust = demo_trust(registry_dir)
    return client_submit(
        client, country="KZ", message=CANARY, files=[], sleep=lambda _s: None, trust=trust,
        **{"coalition_id": None, **kwargs},
    )  # fmt: skip


def test_submit_seals_the_urgent_record_to_the_signed_duty_key(
    client: TestClient,
    runtime: Runtime,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARYZ_TRUST_FILE", str(tmp_path / "trusted.json"))
    _api_submit(client, registry_dir, tmp_path, urgent=CLI_URGENT)
    (row,) = _records(runtime)
    _credential, duty = _duty(registry_dir)
    header, _length = parse_header(row.data)
    assert [kid for kid, _ in header.recipients] == [key_id(duty.box.public)]
    plaintext = open_envelope(row.data, [duty.box])
    assert CANARY.encode() not in plaintext
    record = read_urgent(plaintext)
    assert record.answers == {"country": "KZ", **CLI_URGENT}
    with runtime.sessions() as session:
        case = session.scalar(select(Case))
        assert case is not None
        # The record names its case as the web's does: the watch and the ack rely on it.
        assert case.urgent_ref == row.ref == record.ref
        assert case.reply_public_key == record.reply_key
    ((_meta, answers),) = opened_items(runtime, desk_keys)
    assert json.loads(answers)["urgent"] == {"answers": record.answers, "sent": True}


def test_submit_without_urgent_sends_no_record(
    client: TestClient, runtime: Runtime, registry_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ARYZ_TRUST_FILE", str(tmp_path / "trusted.json"))
    _api_submit(client, registry_dir, tmp_path)
    assert _records(runtime) == []
    assert count(runtime, Case) == 1


def test_submit_to_a_coalition_without_a_duty_key_is_refused_before_sending(
    client: TestClient, runtime: Runtime, registry_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ARYZ_TRUST_FILE", str(tmp_path / "trusted.json"))
    with pytest.raises(ClientError, match="no duty officer"):
        _api_submit(client, registry_dir, tmp_path, coalition_id="iphr", urgent=CLI_URGENT)
    assert count(runtime, Case) == 0


def test_the_api_refuses_an_urgent_record_not_sealed_to_the_duty_key(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    _credential, duty = _duty(registry_dir)
    secrets = derive(generate_token(), MIN_LIMITS)
    answers = seal(encode_payload_prefix({"type": "answers"}) + b'{"answers": {}}',
                   api_recipients(client, "kz-coalition"))  # fmt: skip
    record = b'{"answers": {}}'
    sent = {
        "coalition": "kz-coalition",
        "lookup_id": secrets.lookup_id.hex(),
        "reply_public_key": secrets.reply.public.hex(),
        "answers": base64.b64encode(answers).decode(),
    }
    cases = {
        "the desk's keys": (seal(record, api_recipients(client, "kz-coalition")), duty.epoch),
        "another epoch": (seal(record, [duty.box.public]), duty.epoch + 1),
        "not an envelope": (b"plain text", duty.epoch),
    }
    for what, (data, epoch) in cases.items():
        urgent = {"ref": "ab" * 16, "epoch": epoch, "data": base64.b64encode(data).decode()}
        response = client.post("/api/v1/cases", json={**sent, "urgent": urgent})
        assert response.status_code == 400, what
    assert count(runtime, Case) == 0  # refused whole: no case without its urgent record
    assert _records(runtime) == []
    # Sealed to the current duty key: kept beside the case, under the ref given.
    body = {**sent, "urgent": {"ref": "ab" * 16, "epoch": duty.epoch,
            "data": base64.b64encode(seal(record, [duty.box.public])).decode()}}  # fmt: skip
    assert client.post("/api/v1/cases", json=body).status_code == 201
    (row,) = _records(runtime)
    assert row.ref == bytes.fromhex("ab" * 16)


def test_cli_urgent_answers_without_the_consent_are_refused(tmp_path: Path) -> None:
    message = tmp_path / "m.txt"
    message.write_text("held", encoding="utf-8")
    # Refused before any connection: the server address leads nowhere.
    done = run_aryz(
        "submit", "--server", "http://127.0.0.1:9", "--country", "KZ",
        "--message-file", str(message), "--urgent-place", "IVS",
    )  # fmt: skip
    assert done.returncode != 0
    assert "without --urgent" in done.stderr
    assert "nothing was sent" in done.stderr


def test_the_contract_refuses_any_other_answer() -> None:
    with pytest.raises(UrgentError):
        clean_answers({"country": "KZ", "narrative": "the whole account"})
    with pytest.raises(UrgentError):
        clean_answers({"country": "KZ", "region": "KG-C"})  # another country's region
    with pytest.raises(UrgentError):
        clean_answers({"needs": ["money"]})


def test_watch_alerts_with_the_record_on_stdin_then_ack_shows_signed_and_deletes(
    client: TestClient,
    courier_app: TestClient,
    runtime: Runtime,
    registry_dir: Path,
    tmp_path: Path,
) -> None:
    token, _response = _send(client, {"narrative.text": CANARY, "country": "KZ", **URGENT})
    credential, duty = _duty(registry_dir)
    folder = Folder(tmp_path / "duty")
    calls: list[tuple[Any, dict[str, Any]]] = []

    def run(argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, 0)

    said: list[str] = []
    seen = watch(
        courier_app,
        credential,
        duty,
        folder,
        on_urgent="/usr/local/bin/page-lawyer --fast",
        say=said.append,
        polls=2,
        sleep=lambda _s: None,
        run=run,
    )
    assert seen == 1  # the second poll finds it kept already: one alert
    assert said[0].startswith("URGENT ")
    assert "KZ-75" in said[0]
    assert "ivs" in said[0]
    hooks = [(argv, kw) for argv, kw in calls if argv[0] == "/usr/local/bin/page-lawyer"]
    ((argv, kwargs),) = hooks
    assert argv == ["/usr/local/bin/page-lawyer", "--fast"]  # nothing of the record in argv
    assert "env" not in kwargs  # nor in the environment
    stdin = json.loads(kwargs["input"])
    assert stdin["answers"]["place"] == "IVS of the Almalinsky district"
    assert CANARY not in kwargs["input"].decode()
    (ref,) = folder.refs()

    # Before the acknowledgement, the family sees that it is waiting.
    page = client.post("/en/status", data={"token": token}).text
    assert "waiting for the duty officer" in page
    assert ack(courier_app, credential, duty, folder, ref, "seen", "2026-W53") is True
    assert _records(runtime) == []  # deleted once acknowledged
    page = client.post("/en/status", data={"token": token}).text
    assert "Seen by the duty officer, who is acting on it." in page
    assert "Answer expected by week 2026-W53." in page
    assert ack(courier_app, credential, duty, folder, ref, "lawyer_told") is True
    page = client.post("/en/status", data={"token": token}).text
    assert "A lawyer has been told." in page
    # The family's own client checks it with the duty key of the desk-signed statement.
    checked = client_status(client, token, trust=demo_trust(registry_dir))
    assert checked["urgent_verified"] is True
    assert checked["urgent"]["status"] == "lawyer_told"

    # A row edited on the server is no longer the officer's word: it is not shown.
    with runtime.sessions.begin() as session:
        session.execute(update(Case).values(urgent_status="family_told"))
    page = client.post("/en/status", data={"token": token}).text
    assert client_status(client, token, trust=demo_trust(registry_dir))["urgent_verified"] is False
    assert "has been told" not in page
    assert "Seen by the duty officer" not in page


def test_the_server_refuses_forged_replayed_and_foreign_acks(
    client: TestClient,
    courier_app: TestClient,
    runtime: Runtime,
    registry_dir: Path,
    tmp_path: Path,
) -> None:
    _send(client, {"narrative.text": "held", "country": "KZ", **URGENT})
    credential, duty = _duty(registry_dir)
    folder = Folder(tmp_path / "duty")
    (opened,) = poll(courier_app, credential, duty, folder)
    record = opened.record

    def post(document: str, as_credential: Credential = credential) -> int:
        from service.field.courier import _signed

        response = _signed(
            courier_app, as_credential, "POST", f"{PREFIX}/urgent/ack", document.encode()
        )
        return response.status_code

    good = DutyAck("kz-coalition", record.ref, record.reply_key, 1, 1, "seen", "2026-W49")
    forger = new_duty_key("kz-coalition", 1)
    assert post(sign_ack(good, forger.signing_seed)) == 400  # not the registry's duty key
    other_case = DutyAck("kz-coalition", record.ref, bytes(32), 1, 1, "seen", "2026-W49")
    assert post(sign_ack(other_case, duty.signing_seed)) == 400  # not this case's reply key
    kg_credential = load_credential(registry_dir / "couriers" / "kg-coalition.json")
    assert post(sign_ack(good, duty.signing_seed), kg_credential) == 400  # not kg's record
    assert len(_records(runtime)) == 1  # nothing applied so far
    assert post(sign_ack(good, duty.signing_seed)) == 200
    assert post(sign_ack(good, duty.signing_seed)) == 200  # the same one again: no change
    older = DutyAck("kz-coalition", record.ref, record.reply_key, 1, 1, "lawyer_told", "2026-W49")
    assert post(sign_ack(older, duty.signing_seed)) == 409  # a replaced sequence number


def test_a_record_another_coalition_sealed_is_refused_by_the_watch(
    client: TestClient,
    courier_app: TestClient,
    runtime: Runtime,
    registry_dir: Path,
    tmp_path: Path,
) -> None:
    """A server that moves a kg record into kz's list: the kz duty key cannot open it."""
    _send(client, {"narrative.text": "held", "country": "KG", **URGENT, "urgent.region": ""})
    with runtime.sessions.begin() as session:
        session.execute(update(UrgentRecord).values(coalition_id="kz-coalition"))
    credential, duty = _duty(registry_dir)
    with pytest.raises(DutyError):
        poll(courier_app, credential, duty, Folder(tmp_path / "duty"))
    # The watch says so once and goes on polling; nothing is kept or alerted.
    said: list[str] = []
    seen = watch(
        courier_app, credential, duty, Folder(tmp_path / "duty"), say=said.append, polls=2,
        sleep=lambda _s: None,
    )  # fmt: skip
    assert seen == 0
    assert [line for line in said if line.startswith("REFUSED")] == [said[0]]


def test_the_desktop_notification_carries_no_answer(tmp_path: Path, monkeypatch: Any) -> None:
    from service.common.contract.duty import UrgentRecord as Record
    from service.field.duty import Opened

    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    record = Record("kz-coalition", bytes(16), bytes(32), "2026-W49", {"place": "SECRET PLACE"})
    calls: list[Any] = []
    alert(
        Opened("00" * 16, record),
        say=lambda _t: None,
        desktop=True,
        run=lambda argv, **kw: calls.append(argv),
    )
    ((argv),) = calls
    assert argv[0] == "/usr/bin/notify-send"
    assert "SECRET PLACE" not in " ".join(argv)


def test_urgent_list_is_only_for_a_signed_courier(courier_app: TestClient) -> None:
    response = courier_app.post(f"{PREFIX}/urgent", content=b"{}")
    assert response.status_code == 401


def test_the_desk_sets_answer_expected_by_signed(
    client: TestClient, runtime: Runtime, kz_courier: Courier, kz: DeskKeys
) -> None:
    token, _response = _send(client, {"narrative.text": "held", "country": "KZ"})
    (case,) = case_refs(runtime)
    key = reply_public_key(runtime, case).hex()
    record = Record(
        type="status", coalition=kz.coalition, case=case, seq=1, status="under_review",
        key=key, answer_by="2026-W51",
    )  # fmt: skip
    pushed = kz_courier.push(outbox_bytes(kz, [record]))
    assert pushed.status_code == 200, pushed.text
    page = client.post("/en/status", data={"token": token}).text
    assert "Answer expected by week 2026-W51." in page
    # The family's own client checks the same signature, answer week included.
    answer = client.post("/api/v1/status", json={"lookup_id": _lookup_id(runtime, token)})
    assert answer.json()["status_signature"]["answer_by"] == "2026-W51"
    # Edited on the server, the week is not the desk's word: the status falls back.
    with runtime.sessions.begin() as session:
        session.execute(update(Case).values(status_answer_by="2026-W52"))
    page = client.post("/en/status", data={"token": token}).text
    assert "Answer expected by" not in page


def _lookup_id(runtime: Runtime, token: str) -> str:
    from service.common.crypto.token import derive, parse_token

    return derive(parse_token(token), runtime.kdf_limits).lookup_id.hex()


def test_a_status_record_without_answer_by_signs_the_same_bytes_as_before() -> None:
    plain = Record(type="status", coalition="kz", case="00" * 16, seq=1, status="closed")
    assert "answer_by" not in plain.body()
    with pytest.raises(OutboxError):
        record_from_body({**plain.body(), "answer_by": "next week"})
    with pytest.raises(OutboxError):
        record_from_body({"type": "ack", "coalition": "kz", "case": "00" * 16, "seq": 1,
                          "items": ["11" * 16], "answer_by": "2026-W50"})  # fmt: skip


def test_desk_statistics_count_urgent_cases_from_the_case_itself() -> None:
    from service.desk.stats.facts import derive
    from service.desk.stats.tables import CaseInput, compute

    istanbul = {"id": "istanbul", "version": 1}
    answers = {"consent.statistics": "yes"}
    urgent = derive(
        {"answers": answers, "urgent": {"answers": {}, "sent": True}}, istanbul, "KZ", "2026-W49"
    )
    plain = derive({"answers": answers}, istanbul, "KZ", "2026-W49")
    assert (urgent.urgent, plain.urgent) == ("yes", "no")
    cases = [CaseInput(urgent, ()) for _ in range(6)] + [CaseInput(plain, ()) for _ in range(7)]
    table = compute(cases).table("urgent")
    assert table.result.cell("KZ", "yes") == 6
    assert table.result.cell("KZ", "no") == 7


def _kz_duty_block(text: str) -> tuple[int, int]:
    start = text.index('id = "kz-coalition"')
    block = text.index("[[coalition.duty]]", start)
    return block, text.index("[[coalition]]", block)


def test_the_registry_checks_duty_keys(registry_dir: Path) -> None:
    from service.common.errors import RegistryError
    from service.server.registry.logic import parse_registry

    text = (registry_dir / "registry.toml").read_text()
    start, end = _kz_duty_block(text)
    # Revoked by the operator alone, at once: nothing is sealed to it any more, and its
    # acknowledgements are no longer shown (the desk's statement may still name it).
    revoked = text[:end].rstrip("\n") + "\nrevoked = true\n\n" + text[end:]
    entry = parse_registry(revoked).get("kz-coalition")
    assert entry is not None
    assert entry.duty is None
    assert entry.duty_verify_key(1) is None
    # A duty key the desk did not name is refused.
    other = new_duty_key("kz-coalition", 1)
    unnamed = text[:start] + "\n".join(other.registry_lines()) + "\n\n" + text[end:]
    with pytest.raises(RegistryError, match="statement"):
        parse_registry(unnamed)
    # The desk's signing key is never a duty key.
    entry = parse_registry(text).get("kz-coalition")
    assert entry is not None
    signing = entry.signing_key.hex()
    same = (
        text[:start]
        + text[start:end].replace(text[start:end].split('ack_key = "')[1].split('"')[0], signing)
        + text[end:]
    )
    with pytest.raises(RegistryError):
        parse_registry(same)
