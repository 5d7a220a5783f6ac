"""Issue 16 item 6: a case passed KZ → KG, with real ``aryz`` processes and ``aryz serve``.

Two coalitions' desks (``aryz desk init``), one server holding both in its registry, each
coalition's courier (``aryz courier pull/push``). The KZ desk learns KG's keys from the
registry file under KG's signing fingerprint, refuses a transfer without the person's
consent and to an unknown or its own coalition, and passes the case on. The outbox holds
no plaintext; pushing it twice applies it once; the KG desk imports the case whole; the
family's status page says so in Russian and ``aryz status`` checks every signature (the
transfer and the earlier reply with KZ's key, the new reply with KG's); the KZ statistics
no longer count the case, the KG statistics do. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.common.crypto.keys import fingerprint
from service.desk.store.statement import write_statement
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.server import ServerProcess
from tests.support import add_files, file_report
from tests.test_desk_recovery import PASSPHRASE, Coalition, aryz

pytestmark = pytest.mark.slow
KG = "kg-coalition"
CANARY = "CANARY-TRANSFER-Osh-bazaar-7781"
PHOTO = b"\xff\xd8\xff\xe0" + b"CANARY-PHOTO-BYTES-" * 400


def paste_desk(registry: Path, desk_dir: Path, coalition: str, country: str) -> None:
    """Replace ``coalition``'s demo entry with this desk's snippet and signed statement,
    keeping the demo's names in every language."""
    text = registry.read_text(encoding="utf-8")
    start = text.index(f'[[coalition]]\nid = "{coalition}"')
    end = text.index("[[coalition]]\nid", start + 1)
    names = re.search(r"^names = .*$", text[start:end], re.MULTILINE)
    assert names is not None
    written = write_statement(desk_dir, PASSPHRASE, [country], fallback=False, duty=[])
    statement = written.path.read_text(encoding="utf-8").splitlines()[-1]
    snippet = (
        (desk_dir / "public-key.toml")
        .read_text(encoding="utf-8")
        .replace(
            'names = { en = "<fill in>" }\ncountries = []',
            f'{names.group(0)}\ncountries = ["{country}"]\ndemo = true',
        )
        .replace("[[coalition.keys]]", f"{statement}\n[[coalition.keys]]", 1)
    )
    registry.write_text(text[:start] + snippet + "\n" + text[end:], encoding="utf-8")


def signing_fingerprint(desk_dir: Path) -> str:
    entry = tomllib.loads((desk_dir / "public-key.toml").read_text(encoding="utf-8"))
    return fingerprint(bytes.fromhex(entry["coalition"][0]["signing_key"]))


@pytest.fixture
def two(tmp_path: Path, database_url: str) -> Iterator[tuple[Coalition, Coalition]]:
    env = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE}
    desks = {}
    for cid in ("kz-coalition", KG):
        desk_dir = tmp_path / cid / "desk"
        desk_dir.parent.mkdir()
        aryz("desk", "init", "--dir", str(desk_dir), "--coalition", cid, env=env)
        (tmp_path / cid / "courier").mkdir()
        shutil.move(desk_dir / "courier-credential.json", tmp_path / cid / "courier" / "c.json")
        (tmp_path / cid / "usb").mkdir()
        desks[cid] = desk_dir
    registry = registry_with_desk(tmp_path / "registry", desks["kz-coalition"], PASSPHRASE)
    registry = registry / "registry.toml"
    paste_desk(registry, desks[KG], KG, "KG")
    server = ServerProcess(tmp_path, database_url, registry).start()
    try:
        pair = []
        for cid in ("kz-coalition", KG):
            c = Coalition(tmp_path, server, desks[cid])
            c.credential = tmp_path / cid / "courier" / "c.json"
            c.stick = tmp_path / cid / "usb"
            pair.append(c)
        yield pair[0], pair[1]
    finally:
        server.stop()


def counted(stats: str) -> int:
    match = re.search(r"^Counted cases: (\d+)", stats, re.MULTILINE)
    assert match, stats
    return int(match.group(1))


def case_of(coalition: Coalition, text: str) -> str:
    for case in coalition.cases():
        if text in coalition.desk("show", case):
            return case
    raise AssertionError(text)


def test_a_case_passes_from_kz_to_kg(two: tuple[Coalition, Coalition]) -> None:
    kz, kg = two
    with httpx.Client(base_url=kz.server.url, trust_env=False, timeout=60) as web:
        token = file_report(
            web,
            narrative=f"It happened in Osh, Kyrgyzstan; I chose Kazakhstan by mistake. {CANARY}",
            consent__statistics="yes",
            consent__transfer="yes",
        )
        assert add_files(web, token, [("photo.jpg", PHOTO)]).status_code == 200
        file_report(
            web, narrative="Stays here: no consent.", consent__statistics="yes",
            consent__transfer="no",
        )  # fmt: skip
        file_report(web, narrative="Also Kyrgyz; consent asked later.", consent__statistics="yes")
        file_report(web, narrative="A fourth KZ report.", consent__statistics="yes")
        file_report(web, narrative="KG's own report.", country="KG", consent__statistics="yes")
    kz.pull_and_import()
    kg.pull_and_import()
    moving = case_of(kz, CANARY)
    staying = case_of(kz, "Stays here")
    asked = case_of(kz, "consent asked later")
    assert counted(kz.desk("stats", "--threshold", "2")) == 4
    assert counted(kg.desk("stats", "--threshold", "2")) == 0  # one case: below the threshold

    # KZ answers first; the family keeps that answer after the case moves.
    reply = kz.tmp / "kz-reply.txt"
    reply.write_text("KZ: we have your report and will pass it on.", encoding="utf-8")
    kz.desk("reply", moving, "--message-file", str(reply))
    assert "applied" in kz.push(kz.export())

    # The KZ desk learns KG's keys: only under the fingerprint KG's staff read out.
    registry = Path(kz.server.env["ARYZ_REGISTRY_PATH"])
    own = signing_fingerprint(kz.desk_dir)
    add = ("add", "--registry", str(registry), "--fingerprint")
    assert "own coalition" in learn(kz, *add, own, code=2)
    assert "No coalition in that file" in learn(kz, *add, "AB" * 32, code=2)
    assert "No other coalition" in learn(kz, "list")
    assert "Added coalition kg-coalition" in learn(kz, *add, signing_fingerprint(kg.desk_dir))
    assert "already holds" in learn(kz, *add, signing_fingerprint(kg.desk_dir))
    assert "countries KG" in learn(kz, "list")

    # Refused: no consent, an unknown coalition, its own coalition.
    assert "did not agree" in refused(kz, "transfer", staying, "--to", KG)
    assert "does not know that coalition" in refused(kz, "transfer", moving, "--to", "tj-coal")
    assert "own coalition" in refused(kz, "transfer", moving, "--to", "kz-coalition")

    out = kz.desk("transfer", moving, "--to", KG, "--note", "Osh is in Kyrgyzstan.")
    assert "passed to kg-coalition" in out.lower()
    # Nothing more goes out for it from here; the KZ statistics leave it out at once.
    assert "passed to another coalition" in refused(kz, "set", moving, "--status", "closed")
    stats = kz.desk("stats", "--threshold", "2")
    assert counted(stats) == 3
    assert "Passed to another coalition (counted there, not here): 1" in stats
    # No consent answer: refused, until staff say the person agreed in a message.
    assert "did not agree" in refused(kz, "transfer", asked, "--to", KG)
    kz.desk("transfer", asked, "--to", KG, "--consent-in-message")
    assert "the person agreed in a message" in kz.desk("show", asked)
    stats = kz.desk("stats", "--threshold", "2")
    assert counted(stats) == 2
    assert "Passed to another coalition (counted there, not here): 2" in stats
    shown = kz.desk("show", moving)
    assert "passed to the coalition kg-coalition" in shown
    assert "Osh is in Kyrgyzstan." in shown

    # The outbox carries the case re-sealed: no plaintext of it, of its file or the note.
    outbox = kz.export()
    data = outbox.read_bytes()
    for plain in (CANARY.encode(), b"CANARY-PHOTO", b"photo.jpg", b"Osh is in", b"Osh, Kyr"):
        assert plain not in data
    assert b'"transfer"' in data
    assert "applied" in kz.push(outbox)
    assert "already applied" in kz.push(outbox)  # a retry changes nothing
    kz.receipt(outbox)
    assert "applied on the server" in kz.desk("show", moving).split("Outbox records")[1]

    # KZ no longer gets it; KG does, whole, with its file, and counts it.
    kz.pull_and_import()
    kg.pull_and_import()
    assert moving in "\n".join(kg.cases())
    shown = kg.desk("show", moving)
    assert CANARY in shown
    assert "photo.jpg" in shown
    assert "complete" in shown.lower()
    assert "injected" not in shown.lower()
    assert asked in "\n".join(kg.cases())
    # Counted once, where they now are: KG counts both (under the country the person
    # chose, KZ: only the person's answers say where), KZ neither.
    assert counted(kg.desk("stats", "--threshold", "2")) == 2
    assert counted(kz.desk("stats", "--threshold", "2")) == 2

    # The family: the page says where the report went, in their language; the token works.
    with httpx.Client(base_url=kz.server.url, trust_env=False, timeout=60) as web:
        page = web.post("/ru/status", data={"token": token})
    assert page.status_code == 200
    assert "Ваше обращение передано организации Коалиция против пыток в Кыргызстане" in page.text
    assert "KZ: we have your report" in page.text
    status = kz.status_page(token)
    assert "passed to: kg-coalition (by kz-coalition: signed, verified)" in status
    assert "KZ: we have your report and will pass it on." in status
    assert "NOT VERIFIED !!!" not in status

    # KG answers; signed by KG, checked with KG's key.
    answer = kg.tmp / "kg-reply.txt"
    answer.write_text("KG: a lawyer in Osh will call you.", encoding="utf-8")
    kg.desk("set", moving, "--status", "under_review")
    kg.desk("reply", moving, "--message-file", str(answer))
    assert "applied" in kg.push(kg.export())
    status = kz.status_page(token)
    assert "status: under_review (signed by the coalition, verified)" in status
    assert "KG: a lawyer in Osh will call you." in status
    assert "KZ: we have your report" in status
    assert "NOT VERIFIED" not in status
    # The family writes again: it reaches KG, not KZ.
    with httpx.Client(base_url=kz.server.url, trust_env=False, timeout=60) as web:
        web.post("/en/case/message", data={"token": token, "message": "Thank you, KG."})
    # (KZ's own reports stay in its bundles until a desk backup holds them.)
    assert "0 new items imported" in kz.pull_and_import()
    kg.pull_and_import()
    assert "Thank you, KG." in kg.desk("show", moving)


def learn(coalition: Coalition, step: str, *args: str, code: int = 0) -> str:
    """``aryz desk coalition STEP --dir … ARGS``."""
    where = ("--dir", str(coalition.desk_dir))
    return aryz("desk", "coalition", step, *where, *args, env=coalition.env, code=code)


def refused(coalition: Coalition, *args: str) -> str:
    return aryz(
        "desk", args[0], "--dir", str(coalition.desk_dir), *args[1:], env=coalition.env, code=2
    )
