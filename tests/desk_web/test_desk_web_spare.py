"""A spare desk (service/desk/store/spare.py) in the web desk: it reads, and refuses writes."""

from __future__ import annotations

from pathlib import Path

from service.desk.casework.desk import Desk, open_desk
from service.desk.store.backup import Opening
from service.desk.store.spare import enroll
from service.desk.web.app import create_desk_app
from tests.desk.helpers import PASSPHRASE
from tests.desk_web.conftest import PORT, logged_in
from tests.desk_web.seed import Seeded


def test_a_spare_reads_cases_and_refuses_triage(tmp_path: Path, seeded: Seeded, desk: Desk) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    backup = desk.backup(stick).path
    folder = tmp_path / "spare"
    enroll(backup, folder, Opening(passphrase=PASSPHRASE))
    ref = seeded.main.ref
    with open_desk(folder, PASSPHRASE) as spare, logged_in(create_desk_app(spare, PORT)) as web:
        assert web.get(f"/en/case/{ref}").status_code == 200
        form = {"status": "referred", "priority": "normal", "assignee": "", "tags": "", "note": ""}
        for lang, words in (("en", "This is a spare desk"), ("ru", "запасное рабочее место")):
            response = web.post(f"/{lang}/case/{ref}/triage", data=form)
            assert response.status_code == 409
            assert words in response.text
            assert "aryz desk spare promote" in response.text
        outbox = stick / "outbox.json"
        response = web.post("/en/export", data={"path": str(outbox)})
        assert response.status_code == 409
        assert "aryz desk spare promote" in response.text
        assert not outbox.exists()
        assert spare.get_case(ref).summary.status != "referred"
