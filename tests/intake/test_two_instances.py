"""A report whose steps alternate between two instances of one deployment is filed whole.

Behind Onionbalance a person's next request may land on another backend (a new circuit).
Two real ``aryz serve`` processes share one PostgreSQL database and one
``ARYZ_STATE_SECRET_FILE``: every step of the form goes to the other instance than the
one before; the review page sealed by one is sent to the other; the upload grant a status
page of one hands out starts an upload on the other, whose second half goes to the first
(resumed). The desk opens the report with every answer and the file whole. Without the
shared file (each process its own secret), the same walk loses the details: which is
why the file exists. A sent review page stays bound to its token on both instances (F-14).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.common.crypto.envelope import seal
from service.common.crypto.formstate import new_state_secret
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import encode_payload_prefix
from tests.api.test_upload_grants import CASE_KEY, GRANT, KEYS, PATCH_HEADERS, _field
from tests.conftest import fresh_database
from tests.server import ServerProcess
from tests.support import TOKEN_FIELD, mark_of, opened_items_at, state_of

pytestmark = pytest.mark.slow

FILE = b"%PDF-1.7 " + bytes(range(256)) * 3000  # ~750 kB: two pieces of an upload


@pytest.fixture
def pair(
    tmp_path: Path,
    sqlite_template: Path,
    pg_template: str | None,
    registry_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[ServerProcess, ServerProcess, str]]:
    shared = getattr(request, "param", True)
    for url in fresh_database("postgresql", tmp_path, sqlite_template, pg_template):
        env: dict[str, str] = {}
        if shared:
            secret = tmp_path / "state-secret"
            secret.write_bytes(new_state_secret())
            secret.chmod(0o600)
            env["ARYZ_STATE_SECRET_FILE"] = str(secret)
        servers = []
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            server = ServerProcess(workdir, url, registry_dir / "registry.toml", env=env)
            servers.append(server.start())
        try:
            yield servers[0], servers[1], url
        finally:
            for server in servers:
                server.stop()


def _walk(one: httpx.Client, other: httpx.Client) -> tuple[str, str, str]:
    """Write page from one, each detail step to the other in turn; the review page's
    (state, token)."""
    clients = [one, other]
    page = one.get("/en/report").text
    form = {"state": state_of(page), "narrative.text": "Beaten at the station.",
            "country": "KG", "recipient": "national"}  # fmt: skip
    empty = {"file": ("", b"", "application/octet-stream")}  # the file input left empty
    page = other.post("/en/report/send?then=details", data=form, files=empty).text
    assert "<h1>About you</h1>" in page, page[:400]
    steps = [("filer", {"filer.role": "victim"}), ("victim", {"victim.sex": "female"})]
    for turn, (step, answers) in enumerate(steps):
        client = clients[turn % 2]
        carried = {"narrative.text": "Beaten at the station.", "country": "KG"}
        data = {"state": state_of(page), "step": step, "go": "next", **carried, **answers}
        response = client.post("/en/report", data=data)
        assert response.status_code == 200, response.text[:400]
        page = response.text
    review = one.post("/en/report", data={"state": state_of(page), "go": "review",
                                          "narrative.text": "Beaten at the station.",
                                          "country": "KG"}).text  # fmt: skip
    token = TOKEN_FIELD.search(review)
    assert token is not None, review[:400]
    return state_of(review), token.group(1), mark_of(review)


def test_a_report_alternating_between_instances_is_filed_whole(
    pair: tuple[ServerProcess, ServerProcess, str],
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
    tmp_path: Path,
) -> None:
    a, b, url = pair
    with httpx.Client(base_url=a.url) as one, httpx.Client(base_url=b.url) as other:
        state, token, mark = _walk(one, other)
        # Another token with this review page's state: refused on both instances (F-14).
        for client in (one, other):
            other_token = {"state": state, "token": "0" * 24, "token_mark": mark, "action": "send"}
            stolen = client.post("/en/report/submit", data=other_token)
            assert stolen.status_code == 400
        filed = {"state": state, "token": token, "token_mark": mark}
        sent = other.post("/en/report/submit", data=filed)
        assert sent.status_code == 200, re.sub(r"\s+", " ", sent.text)[600:2500]
        again = one.post("/en/report/submit", data=filed)
        assert again.status_code == 200  # the same page re-sent finds the same case

        # The grant from instance a's status page starts an upload on b; a takes the rest.
        html = one.post("/en/status", data={"token": token}).text
        meta = {"type": "file", "name": "scan.pdf", "case_public_key": _field(CASE_KEY, html)}
        keys = [bytes.fromhex(k) for k in _field(KEYS, html).split()]
        sealed = seal(encode_payload_prefix(meta) + FILE, keys)
        started = other.post("/api/v1/uploads", json={"grant": _field(GRANT, html),
                                                       "size": len(sealed)})  # fmt: skip
        assert started.status_code == 201, started.text
        upload = started.json()["upload"]
        half = len(sealed) // 2
        first = other.patch(f"/api/v1/uploads/{upload}", content=sealed[:half],
                            headers={**PATCH_HEADERS, "Upload-Offset": "0"})  # fmt: skip
        assert first.status_code in (200, 204), first.text
        offset = int(one.get(f"/api/v1/uploads/{upload}").json()["offset"])
        rest = one.patch(f"/api/v1/uploads/{upload}", content=sealed[offset:],
                         headers={**PATCH_HEADERS, "Upload-Offset": str(offset)})  # fmt: skip
        assert rest.status_code == 200, rest.text
        assert rest.json()["complete"] is True
        assert "holds 2 sealed items" in other.post("/en/status", data={"token": token}).text

    items = opened_items_at(tmp_path / "a" / "data", url, registry_dir, desk_keys)
    (answers_meta, answers), (file_meta, body) = items
    assert answers_meta["type"] == "answers"
    text = answers.decode()
    for expected in ("Beaten at the station.", '"filer.role": "victim"', '"victim.sex": "female"'):
        assert expected in text
    assert (file_meta["name"], body) == ("scan.pdf", FILE)


@pytest.mark.parametrize("pair", [False], indirect=True)
def test_without_the_shared_secret_the_other_instance_cannot_open_the_state(
    pair: tuple[ServerProcess, ServerProcess, str],
) -> None:
    a, b, _url = pair
    with httpx.Client(base_url=a.url) as one, httpx.Client(base_url=b.url) as other:
        page = one.get("/en/report").text
        form = {"state": state_of(page), "step": "filer", "go": "next",
                "filer.role": "victim", "narrative.text": "x", "country": "KG"}  # fmt: skip
        step = one.post("/en/report", data=form).text
        lost = other.post("/en/report", data={**form, "state": state_of(step), "step": "victim"})
        assert lost.status_code == 400  # "your answers from the other pages could not be read"
        assert re.search(r"could not be read back", lost.text)
