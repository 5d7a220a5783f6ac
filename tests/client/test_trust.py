"""Audit F-02 and F-08 as tests: ``aryz submit`` and ``aryz status`` trust the coalition's
pinned signing key, not the server.

A relay server that substitutes its own keys (and re-signs the key statement with its own
signing key) makes ``aryz submit`` refuse before anything is sealed, naming the fingerprint
it expected; through the honest server the same command files as before. ``aryz status``
refuses the same relay, and a reply the server inserts on its own is shown as NOT VERIFIED
with its text withheld.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from service.common.clock import current_week
from service.common.crypto.keys import BoxKeyPair
from service.server.models import Case, Reply
from service.server.registry.logic import parse_registry
from tests.client.relay import Adversary, relay
from tests.courier.helpers import sealed_reply
from tests.server import ServerProcess
from tests.support import opened_items_at, run_aryz, trust_args

pytestmark = pytest.mark.slow

REPORT = "Client-sealed report: detainee X held at IVS Almaty, lawyer Y."
LURE = "Срочно: юрист ждёт вас завтра в 10:00, ул. Абая 1. Возьмите паспорт."


def _kz_fingerprint(registry_dir: Path) -> str:
    registry = parse_registry((registry_dir / "registry.toml").read_text())
    entry = registry.get("kz-coalition")
    assert entry is not None
    return entry.signing_fingerprint


def _submit(server: str, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    message = tmp_path / "message.txt"
    message.write_text(REPORT, encoding="utf-8")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe1Exif\x00\x00PhoneMaker" + b"p" * 5000)
    done = run_aryz(
        "submit",
        "--server",
        server,
        "--country",
        "KZ",
        "--message-file",
        str(message),
        "--file",
        str(photo),
        *extra,
        env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
    )
    return done.returncode, done.stdout, done.stderr


def test_a_relay_substituting_its_keys_is_refused_naming_the_expected_fingerprint(
    tmp_path: Path, database_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    expected = _kz_fingerprint(registry_dir)
    adversary = Adversary()
    with (
        ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server,
        relay(server.url, adversary.substitute, adversary.captured) as evil,
    ):
        # Pinned with --trust (given by the coalition out of band).
        rc, out, err = _submit(evil, tmp_path, "--trust", expected)
        assert rc == 2, out
        assert "REFUSED" in err
        assert f"Expected fingerprint: {expected}" in err
        # Trusted on first use through the honest server: files as before.
        rc, out, err = _submit(server.url, tmp_path, "--trust-on-first-use")
        assert rc == 0, err
        assert expected in err  # the fingerprint was shown when it was trusted
        remembered = json.loads((tmp_path / "trusted.json").read_text())
        assert remembered["kz-coalition"]["fingerprint"] == expected.replace(" ", "")
        # Remembered: the relay is refused now without --trust.
        rc, out, err = _submit(evil, tmp_path)
        assert rc == 2
        assert f"Expected fingerprint: {expected}" in err
    # Nothing was sealed or sent through the relay: it captured no request body at all.
    assert adversary.captured == []
    # Exactly one case was filed, through the honest server, readable by the coalition.
    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    assert len(items) == 2
    assert REPORT.encode() in items[0][1]


def test_an_unpinned_coalition_is_not_trusted_without_being_asked(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        rc, _out, err = _submit(server.url, tmp_path)
    assert rc == 2
    assert "not pinned" in err
    assert _kz_fingerprint(registry_dir) in err  # shown, so the person can check it


def test_status_refuses_the_relay_and_marks_a_forged_reply_not_verified(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    expected = _kz_fingerprint(registry_dir)
    trust = trust_args(registry_dir)
    env = {"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")}
    adversary = Adversary()
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        rc, out, err = _submit(server.url, tmp_path, *trust)
        assert rc == 0, err
        token = out.strip().splitlines()[-1]
        # A seized server inserts a "reply" sealed to the case's (stored) reply key (F-08).
        engine = create_engine(database_url)
        with Session(engine) as session:
            case = session.scalars(select(Case)).one()
            session.add(
                Reply(
                    case_id=case.id,
                    seq=1,
                    data=sealed_reply(case.reply_public_key, LURE),
                    created_week=current_week(),
                )
            )
            case.status, case.status_seq = "will_contact", 1
            session.commit()
        engine.dispose()
        checked = run_aryz("status", "--server", server.url, "--token", token, *trust, env=env)
        assert checked.returncode == 0, checked.stderr
        assert "NOT VERIFIED" in checked.stdout
        assert "status: will_contact\n" in checked.stdout
        assert "(signed by the coalition, verified)" not in checked.stdout
        assert LURE not in checked.stdout
        shown = run_aryz(
            "status",
            "--server",
            server.url,
            "--token",
            token,
            "--show-unverified",
            *trust,
            env=env,
        )
        assert LURE in shown.stdout
        assert "NOT VERIFIED" in shown.stdout
        # The status page of the server itself shows neither the forged reply nor status.
        page = httpx.post(f"{server.url}/en/status", data={"token": token})
        assert page.status_code == 200
        assert LURE not in page.text
        assert "We will contact you" not in page.text
        # And a relay substituting its keys is refused by aryz status, as by submit.
        with relay(server.url, adversary.substitute, adversary.captured) as evil:
            refused = run_aryz("status", "--server", evil, "--token", token, *trust, env=env)
    assert refused.returncode == 2
    assert f"Expected fingerprint: {expected}" in refused.stderr
