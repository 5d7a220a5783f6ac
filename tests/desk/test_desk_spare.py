"""Issue 16 item 3: a second desk is a SPARE, kept in step by backups; real ``aryz`` processes.

Enrolled from a backup (fingerprints equal to the working desk's), it refuses everything
that writes (export, reply, set, import, courier, rotate, statement) naming ``aryz desk
spare promote``; ``spare update`` takes only a newer backup; once promoted it exports and
the server (``aryz serve``) applies its outbox.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.test_desk_recovery import Coalition, aryz
from tests.test_desk_recovery import coalition as coalition  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


def fingerprints(out: str) -> list[str]:
    return re.findall(r"^ {6}(\S{4}(?: \S{4}){3})$", out, re.MULTILINE)


@pytest.fixture
def spare_dir(coalition: Coalition) -> Path:  # noqa: F811 - the fixture
    folder = coalition.tmp / "second-laptop" / "desk"
    folder.parent.mkdir()
    return folder


def spare(coalition: Coalition, folder: Path, *args: str, code: int = 0) -> str:  # noqa: F811
    if args[0] == "spare":  # aryz desk spare STEP --dir …
        args = (f"{args[0]} {args[1]}", *args[2:])
    return aryz(
        "desk", *args[0].split(), "--dir", str(folder), *args[1:], env=coalition.env, code=code
    )


def test_a_spare_reads_refuses_to_write_and_takes_over_when_promoted(
    coalition: Coalition,  # noqa: F811
    spare_dir: Path,
) -> None:
    first_token = coalition.file("First report, before the first backup.")
    coalition.pull_and_import()
    (first_case,) = coalition.cases()
    older = coalition.backup()

    # A plain restore says it makes a working desk, and points to spare enroll.
    out = aryz(
        "desk", "restore", "--dir", str(spare_dir.parent / "x"), str(older), env=coalition.env
    )
    assert "aryz desk spare enroll" in out
    out = aryz(
        "desk",
        "spare",
        "enroll",
        "--from",
        str(older),
        "--dir",
        str(spare_dir),
        env=coalition.env,
    )
    assert "Spare desk enrolled" in out
    primary = coalition.desk("fingerprints")
    assert fingerprints(out) == fingerprints(primary)
    assert len(fingerprints(primary)) >= 8  # decryption + signing keys, 4 lines each

    # It reads …
    assert first_case in spare(coalition, spare_dir, "list")
    assert "First report" in spare(coalition, spare_dir, "show", first_case)

    # … and refuses everything that writes, naming promote.
    reply = coalition.tmp / "reply.txt"
    reply.write_text("We have your report.", encoding="utf-8")
    outbox = coalition.stick / "spare-outbox.json"
    refused = [
        ("export", "--out", str(outbox)),
        ("reply", first_case, "--message-file", str(reply)),
        ("set", first_case, "--status", "under_review"),
        ("set", first_case, "--note", "a note"),
        ("import", str(older)),
        ("rotate",),
        ("rotate", "--signing"),
        ("statement", "--countries", "KZ"),
        ("backup", "--out", str(coalition.stick)),
    ]
    for args in refused:
        out = spare(coalition, spare_dir, *args, code=2)
        assert "This is a spare desk" in out, args
        assert "aryz desk spare promote" in out, args
    out = aryz(
        "desk",
        "courier",
        "add",
        "--dir",
        str(spare_dir),
        "--out",
        str(coalition.tmp / "c.json"),
        env=coalition.env,
        code=2,
    )
    assert "aryz desk spare promote" in out
    assert not outbox.exists()

    # The working desk goes on: a second report, a status, a newer backup.
    assert "applied: 2 records" in coalition.push(coalition.export())
    coalition.file("Second report, in the newer backup only.")
    coalition.pull_and_import()
    second_case = next(c for c in coalition.cases() if c != first_case)
    coalition.desk("set", first_case, "--status", "under_review")
    newer = coalition.backup()

    out = spare(coalition, spare_dir, "spare", "update", str(newer))
    assert "Spare desk updated" in out
    listed = spare(coalition, spare_dir, "list")
    assert second_case in listed
    # The same or an older backup is refused, and changes nothing.
    for stale in (older, newer):
        out = spare(coalition, spare_dir, "spare", "update", str(stale), code=2)
        assert "not newer" in out
    assert second_case in spare(coalition, spare_dir, "list")
    assert not [p for p in spare_dir.parent.iterdir() if p.name.startswith(".spare-")]

    # Still a spare after the update.
    spare(coalition, spare_dir, "set", second_case, "--status", "referred", code=2)

    # Promote: refused without the exact confirmation.
    out = aryz(
        "desk",
        "spare",
        "promote",
        "--dir",
        str(spare_dir),
        stdin="yes\n",
        env=coalition.env,
        code=2,
    )
    assert "Not confirmed" in out
    spare(coalition, spare_dir, "export", "--out", str(outbox), code=2)

    # The working laptop is lost; the spare takes over.
    shutil.rmtree(coalition.desk_dir.parent)
    out = aryz(
        "desk",
        "spare",
        "promote",
        "--dir",
        str(spare_dir),
        stdin="the old desk is gone\n",
        env=coalition.env,
    )
    assert "now the working desk" in out
    assert "--sync" in out
    coalition.desk_dir = spare_dir
    coalition.pull_and_import("--sync")
    coalition.desk("set", first_case, "--status", "referred")
    coalition.desk("reply", first_case, "--message-file", str(reply))
    outbox = coalition.export()
    pushed = coalition.push(outbox)
    assert "applied:" in pushed, pushed
    coalition.receipt(outbox)
    records = coalition.desk("show", first_case).split("Outbox records")[1]
    assert "refused" not in records
    page = coalition.status_page(first_token)
    assert "status: referred" in page
    assert "We have your report." in page


def test_update_and_promote_refuse_a_working_desk(coalition: Coalition) -> None:  # noqa: F811
    coalition.file("A report.")
    coalition.pull_and_import()
    backup = coalition.backup()
    where = ("--dir", str(coalition.desk_dir))
    out = aryz("desk", "spare", "update", *where, str(backup), env=coalition.env, code=2)
    assert "not a spare" in out
    out = aryz(
        "desk",
        "spare",
        "promote",
        *where,
        stdin="the old desk is gone\n",
        env=coalition.env,
        code=2,
    )
    assert "not a spare" in out
    coalition.desk("set", coalition.cases()[0], "--status", "under_review")  # still works
