"""Triage (status, priority, assignee, tags, private note) and replies, through the forms."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.common.contract import outbox
from service.common.crypto.envelope import open_envelope
from service.common.crypto.payload import split_payload
from service.desk.casework.desk import Desk
from tests.desk.helpers import COALITION
from tests.desk_web.seed import Seeded


def triage(client: TestClient, ref: str, **fields: str) -> str:
    """Post the triage form as the page would (every field), return the redirect."""
    form = {"status": "received", "priority": "normal", "assignee": "", "tags": "", "note": ""}
    response = client.post(f"/en/case/{ref}/triage", data=form | fields)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def test_set_status_priority_assignee_tags_and_a_note(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    ref = seeded.main.ref
    location = triage(
        client,
        ref,
        status="under_review",
        priority="urgent",
        assignee="Aigerim",
        tags="ivs, lawyer-a, ivs",
        note="Called the lawyer.\nWaiting for the medical report.",
    )
    assert location == f"/en/case/{ref}?done=triage#triage"
    summary = desk.get_case(ref).summary
    assert (summary.status, summary.priority, summary.assignee) == (
        "under_review",
        "urgent",
        "Aigerim",
    )
    assert summary.tags == ("ivs", "lawyer-a")
    assert summary.pending == 1  # the status change waits for the outbox

    html = client.get(location).text
    assert '<p class="flash" role="status">Saved.' in html
    assert '<input type="radio" name="status" value="under_review" checked>' in html
    assert '<option value="urgent" selected>' in html
    assert 'value="ivs, lawyer-a"' in html
    assert "Called the lawyer.\nWaiting for the medical report." in html
    assert "Status: Received → Under review" in html  # history, labels translated
    assert "Priority: Normal → Urgent" in html
    assert "Tags added: ivs, lawyer-a; removed: —" in html


def test_a_note_alone_changes_nothing_else(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    ref = seeded.released.ref
    triage(client, ref, note="Only a note.")
    detail = desk.get_case(ref)
    assert [n.text for n in detail.notes] == ["Only a note."]
    assert detail.summary.status == "received"
    assert detail.summary.pending == 0  # a private note is never sent
    assert [e.event for e in detail.history] == ["first_imported"]


def test_tags_and_assignee_can_be_removed(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    ref = seeded.hostile.ref
    triage(client, ref, assignee="B.", tags="a, b, c")
    triage(client, ref, assignee="", tags="c")
    summary = desk.get_case(ref).summary
    assert summary.assignee is None
    assert summary.tags == ("c",)


def test_russian_form_redirects_to_the_russian_page(client: TestClient, seeded: Seeded) -> None:
    response = client.post(f"/ru/case/{seeded.main.ref}/triage", data={"status": "need_info"})
    assert response.headers["location"].startswith(f"/ru/case/{seeded.main.ref}?done=triage")
    html = client.get(response.headers["location"]).text
    assert "Сохранено." in html
    assert "Статус: Получено → Нам нужно больше информации" in html


def test_a_refused_triage_keeps_what_was_typed(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    ref = seeded.main.ref
    note = "A long note that must not be lost."
    response = client.post(
        f"/en/case/{ref}/triage",
        data={"status": "under_review", "tags": "bad\u202etag", "note": note},
    )
    assert response.status_code == 400
    assert "Nothing was saved." in response.text
    assert note in response.text
    detail = desk.get_case(ref)
    assert detail.summary.status == "received"  # all or nothing
    assert detail.notes == ()


def test_an_unknown_status_or_priority_is_refused(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    for field in ({"status": "deleted"}, {"priority": "highest"}):
        response = client.post(f"/en/case/{seeded.main.ref}/triage", data=field)
        assert response.status_code == 400
        assert "deleted" not in response.text
        assert "highest" not in response.text
    assert desk.get_case(seeded.main.ref).summary.status == "received"


def test_reply_is_sealed_to_the_person_and_listed(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    ref = seeded.main.ref
    text = "Мы получили ваше обращение.\nАдвокат свяжется с вами."
    response = client.post(f"/en/case/{ref}/reply", data={"reply": text})
    assert response.status_code == 303
    assert response.headers["location"] == f"/en/case/{ref}?done=reply#replies"
    html = client.get(response.headers["location"]).text
    assert "Reply sealed. It goes to the person with the next outbox export." in html
    assert text in html
    assert "waiting for the next outbox export" in html

    # Only the person's reply key opens it.
    detail = desk.get_case(ref)
    assert [r.text for r in detail.replies] == [text]
    report = client.post("/en/export", data={"path": str(seeded.folder.parent / "out.json")})
    assert report.status_code == 200
    records = outbox.decode(
        (seeded.folder.parent / "out.json").read_bytes(), {COALITION: seeded.signing_key}
    ).records
    reply = next(r for r in records if r.type == "reply")
    assert reply.reply is not None
    _meta, body = split_payload(open_envelope(reply.reply, [seeded.main.reply]))
    assert body.decode("utf-8") == text
    assert "sent in an outbox" in client.get(f"/en/case/{ref}").text


def test_an_empty_reply_is_refused_and_nothing_is_sealed(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    response = client.post(f"/en/case/{seeded.main.ref}/reply", data={"reply": "   \n"})
    assert response.status_code == 400
    assert "The reply was not sealed" in response.text
    assert desk.get_case(seeded.main.ref).replies == ()


def test_a_refused_reply_keeps_the_text(client: TestClient, seeded: Seeded) -> None:
    text = "Hello\x07 there"  # a control character the desk refuses
    response = client.post(f"/en/case/{seeded.main.ref}/reply", data={"reply": text})
    assert response.status_code == 400
    assert "Hello\x07 there" in response.text  # back in the textarea, to fix


def test_reply_without_a_confirmed_key_is_refused(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    ref = seeded.unconfirmed.ref
    response = client.post(f"/en/case/{ref}/reply", data={"reply": "Hello"})
    assert response.status_code == 400
    assert "A reply cannot be sealed yet" in response.text
    assert desk.get_case(ref).replies == ()
