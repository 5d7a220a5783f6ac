"""Passing a case to another coalition from the web desk (issue 16 item 6): the same
checks as ``aryz desk transfer``, refusals on the page with nothing queued."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.desk.casework.desk import Desk, init_desk
from tests.desk.helpers import PASSPHRASE
from tests.desk.test_desk_transfer_store import KG, kg_fingerprint, registry_of
from tests.desk_web.seed import Seeded


def test_no_other_coalition_known_says_how_to_add_one(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    assert "Pass to another coalition" in html
    assert "aryz desk coalition add" in html
    assert f'action="/en/case/{seeded.main.ref}/transfer"' not in html


def test_a_case_is_passed_on_from_the_page(
    client: TestClient, seeded: Seeded, desk: Desk, tmp_path: Path
) -> None:
    kg_dir = tmp_path / "kg-desk"
    init_desk(kg_dir, KG, PASSPHRASE)
    desk.add_coalition(registry_of(tmp_path, kg_dir), kg_fingerprint(kg_dir))
    ref = seeded.main.ref
    page = client.get(f"/ru/case/{ref}").text
    assert "Передать другой коалиции" in page
    assert f'<option value="{KG}">Coalition in Kyrgyzstan ({KG})</option>' in page

    # No consent on the consent page (these answers never had the question): refused,
    # said in the page's language, nothing queued.
    refused = client.post(f"/ru/case/{ref}/transfer", data={"to": KG, "note": "Ош"})
    assert refused.status_code == 400
    assert "заявитель не согласился на передачу обращения" in refused.text
    assert '<textarea id="transfer-note" name="note" rows="2">Ош</textarea>' in refused.text
    assert f'<option value="{KG}" selected>' in refused.text  # what was typed stays
    assert desk.get_case(ref).summary.pending == 0
    # Its own coalition, or one this desk holds no keys of: refused too.
    for to in (desk.coalition, "tj-coalition"):
        other = client.post(
            f"/en/case/{ref}/transfer", data={"to": to, "consent_in_message": "yes"}
        )
        assert other.status_code == 400
        assert "cannot be passed to that coalition" in other.text
    assert desk.get_case(ref).summary.pending == 0

    done = client.post(
        f"/en/case/{ref}/transfer",
        data={"to": KG, "consent_in_message": "yes", "note": "Osh: a Kyrgyz case"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/en/case/{ref}?done=transfer#transfer"
    detail = desk.get_case(ref)
    assert detail.summary.pending == 1
    assert [n.text for n in detail.notes] == ["Osh: a Kyrgyz case"]
    html = client.get(done.headers["location"]).text
    assert "Queued: the case is re-sealed and passed on" in html
    assert f"This case is passed to the coalition {KG}." in html
    assert f'action="/en/case/{ref}/transfer"' not in html  # once only
    again = client.post(f"/en/case/{ref}/transfer", data={"to": KG, "consent_in_message": "yes"})
    assert again.status_code == 400
    assert desk.get_case(ref).summary.pending == 1
    # Taken back (aryz desk transfer --cancel) before any export: the form is there again,
    # and the history says both, in the page's language.
    assert desk.cancel_transfer(ref) == KG
    html = client.get(f"/ru/case/{ref}").text
    assert f'action="/ru/case/{ref}/transfer"' in html
    assert f"Передача коалиции {KG} отменена" in html
