"""The legal-path page and the statistics pages, in-process (TestClient as 127.0.0.1)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from service.desk.casework.desk import Desk
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
