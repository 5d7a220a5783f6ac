"""The legal-path page and the statistics pages, in-process (TestClient as 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.payload import encode_payload_prefix
from service.common.questionnaire.known import CURRENT
from service.desk.casework.desk import Desk, init_desk, open_desk
from service.desk.web.app import create_desk_app
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    bundle_bytes,
    recipients,
    sealed,
)
from tests.desk_web.conftest import PORT, logged_in
from tests.desk_web.seed import Seeded


def test_record_and_remove_a_legal_step(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    ref = seeded.main.ref
    case_page = client.get(f"/en/case/{ref}")
    assert f'href="/en/case/{ref}/outcomes"' in case_page.text
    page = client.get(f"/ru/case/{ref}/outcomes")
    assert page.status_code == 200
    assert "Правовой путь" in page.text
    assert 'value="complaint_lodged"' in page.text
    form = {
        "event": "complaint_lodged",
        "on": "2025-04-02",
        "body": "prosecutor",
        "note": "<b>Жалоба</b> \u202eподана",
    }
    done = client.post(f"/en/case/{ref}/outcomes", data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/en/case/{ref}/outcomes?done=added#events"
    shown = client.get(done.headers["location"]).text
    assert "Event recorded." in shown
    assert "2025-04-02" in shown
    assert "Prosecutor&#39;s office" in shown or "Prosecutor's office" in shown
    assert "&lt;b&gt;Жалоба&lt;/b&gt; \\u{202E}подана" in shown  # escaped, override visible
    [event] = desk.outcomes(ref)
    removed = client.post(f"/en/case/{ref}/outcomes/{event.id}/remove")
    assert removed.status_code == 303
    assert desk.outcomes(ref) == []
    assert client.post(f"/en/case/{ref}/outcomes/{event.id}/remove").status_code == 404


def test_a_refused_event_is_shown_again_with_what_was_chosen(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    ref = seeded.main.ref
    form = {"event": "verdict", "on": "2025-02-30", "result": "conviction", "note": "N"}
    page = client.post(f"/en/case/{ref}/outcomes", data=form)
    assert page.status_code == 400
    assert "Nothing was recorded." in page.text
    assert 'value="verdict" checked' in page.text
    assert 'value="2025-02-30"' in page.text
    assert desk.outcomes(ref) == []
    # A POST from another site is refused before anything is recorded.
    hostile = client.post(
        f"/en/case/{ref}/outcomes",
        data=form | {"on": "2025-02-03"},
        headers={"origin": "http://evil.example"},
    )
    assert hostile.status_code in (400, 403)
    assert desk.outcomes(ref) == []


def test_statistics_page_and_report(client: TestClient) -> None:
    page = client.get("/ru/stats?threshold=2&period=quarter")
    assert page.status_code == 200
    assert "Статистика" in page.text
    assert "<script" not in page.text
    assert 'href="/ru/report?threshold=2&amp;period=quarter"' in page.text
    report = client.get("/en/report?threshold=2")
    assert report.status_code == 200
    assert '<link rel="stylesheet" href="/static/report.css">' in report.text
    assert "<style>" not in report.text  # the CSP allows no inline styles
    assert client.get("/static/report.css").status_code == 200
    data = client.get("/en/report.json?threshold=2")
    assert data.headers["content-disposition"].startswith("attachment;")
    assert json.loads(data.content)["threshold"] == 2
    csv = client.get("/en/report.csv")
    assert csv.text.startswith("table,esf_term,row,column,value,status\n")
    for bad in ("threshold=1", "threshold=abc", "period=decade", "threshold=99999"):
        refused = client.get(f"/en/stats?{bad}")
        assert refused.status_code == 400
        assert "threshold must be a whole number" in refused.text


def test_a_questionnaire_version_the_desk_lacks_is_a_visible_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answers naming a questionnaire this desk does not have (a newer version): the case
    # is not counted, and the statistics page says why instead of counting "no consent".
    monkeypatch.setenv("ARYZ_DESK_KDF", "minimum")
    folder = tmp_path / "desk"
    init_desk(folder, COALITION, PASSPHRASE)
    case = FakeCase()
    reference = {"id": CURRENT.id, "version": CURRENT.version + 1, "sha256": "0" * 64}
    meta = {"type": "answers", "created": "2026-W47", "questionnaire": reference}
    body = {"language": "ru", "country": "KZ", "coalition": COALITION, "answers": {}}
    body["answers"] = {"consent.statistics": "yes", "victim.sex": "female"}
    plaintext = (
        encode_payload_prefix(meta | {"case_public_key": case.public_hex})
        + json.dumps(body).encode()
    )
    with open_desk(folder, PASSPHRASE) as desk:
        bundle = tmp_path / "bundle.aryz"
        bundle.write_bytes(bundle_bytes([sealed(case, plaintext, recipients(desk))]))
        assert desk.import_bundle(bundle).problems == ()
        assert desk.statistics().unreadable == 1
        with logged_in(create_desk_app(desk, PORT)) as client:
            page = client.get("/en/stats").text
            assert "use a questionnaire version this desk does not know" in page or (
                "uses a questionnaire version this desk does not know" in page
            )
            assert "did not agree to statistical use" not in page
            ru = client.get("/ru/stats").text
            assert "версии анкеты, которую этот компьютер не знает" in ru
