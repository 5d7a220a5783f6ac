"""The desk's side of a transfer, without a server: another coalition's keys are taken
only under its signing fingerprint and its own signed statement; the export re-seals
every item to those keys, byte for byte, and the other desk opens them; a case that
does not fit one outbox is refused with nothing queued."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import service.desk.casework.transfer as transfer
import service.desk.web.logic as web_logic
from service.common.contract.outbox import decode
from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import fingerprint
from service.common.crypto.payload import split_payload
from service.desk.casework.desk import Desk, init_desk
from service.desk.errors import (
    CoalitionError,
    TransferConsentError,
    TransferredCaseError,
    TransferTooLargeError,
)
from service.desk.store import keys
from service.desk.store.statement import write_statement
from tests.desk.helpers import (
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    recipients,
    sealed,
)

KG = "kg-coalition"


@pytest.fixture
def kg_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "kg-desk"
    init_desk(folder, KG, PASSPHRASE)
    return folder


def registry_of(folder: Path, kg_dir: Path, statement: str | None = None) -> Path:
    """A registry file holding the KG desk's entry, as the server's operator pasted it."""
    written = write_statement(kg_dir, PASSPHRASE, ["KG"], fallback=False, duty=[])
    line = statement or written.path.read_text(encoding="utf-8").splitlines()[-1]
    snippet = (kg_dir / "public-key.toml").read_text(encoding="utf-8")
    snippet = snippet.replace(
        'names = { en = "<fill in>" }\ncountries = []',
        f'names = {{ en = "Coalition in Kyrgyzstan" }}\ncountries = ["KG"]\n{line}',
    )
    path = folder / "registry.toml"
    path.write_text("version = 1\n" + snippet, encoding="utf-8")
    return path


def kg_fingerprint(kg_dir: Path) -> str:
    return fingerprint(keys.read_public(kg_dir).signing_key)


def imported_case(desk: Desk, tmp_path: Path) -> tuple[FakeCase, bytes, bytes]:
    case = FakeCase()
    answers = answers_plaintext(case, {"narrative": "It was in Osh."})
    photo = file_plaintext(case, "photo.jpg", b"\xff\xd8" + b"p" * 3000)
    bundle = tmp_path / "bundle.aryz"
    to = recipients(desk)
    bundle.write_bytes(bundle_bytes([sealed(case, answers, to), sealed(case, photo, to)]))
    desk.import_bundle(bundle)
    return case, answers, photo


def test_keys_are_taken_only_under_the_fingerprint_and_a_signed_statement(
    desk: Desk, kg_dir: Path, tmp_path: Path
) -> None:
    registry = registry_of(tmp_path, kg_dir)
    with pytest.raises(CoalitionError, match="No coalition"):
        desk.add_coalition(registry, fingerprint(desk.public.signing_key))
    with pytest.raises(CoalitionError, match="64 hex"):
        desk.add_coalition(registry, "1234")
    # A statement whose key was swapped (a seized server, a changed stick) is refused.
    good = registry.read_text(encoding="utf-8")
    public = keys.read_public(kg_dir).epochs[0][1].hex()
    forged = tmp_path / "forged.toml"
    forged.write_text(
        good.replace(f'"public_key": "{public}"', '"public_key": "' + "ab" * 32 + '"')
    )
    with pytest.raises(CoalitionError, match="not signed"):
        desk.add_coalition(forged, kg_fingerprint(kg_dir))
    assert desk.known_coalitions() == []
    found, added = desk.add_coalition(registry, kg_fingerprint(kg_dir))
    assert added
    assert (found.id, found.countries, found.name) == (KG, ("KG",), "Coalition in Kyrgyzstan")
    assert found.recipients == [bytes.fromhex(public)]
    assert desk.add_coalition(registry, kg_fingerprint(kg_dir))[1] is False


def test_the_export_reseals_every_item_to_the_other_coalition(
    desk: Desk, kg_dir: Path, tmp_path: Path
) -> None:
    case, answers, photo = imported_case(desk, tmp_path)
    desk.add_coalition(registry_of(tmp_path, kg_dir), kg_fingerprint(kg_dir))
    with pytest.raises(TransferConsentError):  # intake-basic asks no such consent
        desk.transfer(case.ref, KG, consent_in_message=False)
    desk.transfer(case.ref, KG, consent_in_message=True)
    with pytest.raises(TransferredCaseError):
        desk.set_triage(case.ref, status="closed")
    with pytest.raises(TransferredCaseError):
        desk.transfer(case.ref, KG, consent_in_message=True)
    # The web desk's history says it, too (in the staff member's language).
    (moved,) = [h for h in desk.get_case(case.ref).history if h.event == "transferred"]
    assert web_logic._describe(moved, lambda text: text) == (
        "Passed to the coalition kg-coalition (sent with the next outbox)"
    )
    out = tmp_path / "outbox.json"
    assert desk.export_outbox(out).records == 1
    assert b"Osh" not in out.read_bytes()
    assert b"photo.jpg" not in out.read_bytes()

    parsed = decode(out.read_bytes(), {desk.coalition: desk.public.signing_key})
    (record,) = parsed.records
    assert (record.type, record.to, record.case, record.key) == (
        "transfer",
        KG,
        case.ref,
        case.public_hex,
    )
    kg_keys = keys.unlock(kg_dir, PASSPHRASE).decryption_keys
    opened = [split_payload(open_envelope(e, kg_keys)) for e in record.envelopes]
    originals = [split_payload(answers), split_payload(photo)]
    for (meta, body), (old_meta, old_body) in zip(opened, originals, strict=True):
        assert body == old_body
        passed_on = meta.pop("transferred")
        assert passed_on == {"from": desk.coalition, "header": None}  # these had no seal
        assert meta == old_meta
    # Nothing else is queued for it: no "imported" record after the transfer.
    assert desk.export_outbox(tmp_path / "outbox-2.json").path is None
    assert desk.statistics().transferred == 1


def test_a_case_too_large_for_one_outbox_is_refused_with_nothing_queued(
    desk: Desk, kg_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, _answers, _photo = imported_case(desk, tmp_path)
    desk.add_coalition(registry_of(tmp_path, kg_dir), kg_fingerprint(kg_dir))
    monkeypatch.setattr(transfer, "MAX_TRANSFER_BYTES", 4096)
    with pytest.raises(TransferTooLargeError):
        desk.transfer(case.ref, KG, consent_in_message=True)
    out = tmp_path / "outbox.json"
    desk.export_outbox(out)
    assert all(r["body"]["type"] != "transfer" for r in json.loads(out.read_bytes())["records"])
    desk.set_triage(case.ref, status="under_review")  # still this desk's case


def test_a_transfer_is_taken_back_until_exported_or_after_a_refusal(
    desk: Desk, kg_dir: Path, tmp_path: Path
) -> None:
    from service.common.contract import receipt
    from service.desk.errors import TransferError, TransferSentError

    case, _answers, _photo = imported_case(desk, tmp_path)
    desk.add_coalition(registry_of(tmp_path, kg_dir), kg_fingerprint(kg_dir))
    with pytest.raises(TransferError):
        desk.cancel_transfer(case.ref)  # nothing queued: nothing to take back
    # The wrong coalition picked, noticed before export: taken back, the case is ours again.
    seq = desk.transfer(case.ref, KG, consent_in_message=True)
    assert desk.cancel_transfer(case.ref) == KG
    assert desk.get_case(case.ref).summary.pending == 0
    assert desk.statistics().transferred == 0
    events = [h.event for h in desk.get_case(case.ref).history]
    assert events[-2:] == ["transferred", "transfer_cancelled"]
    # Its number is free again: the next record takes it, as if nothing had been queued.
    desk.set_triage(case.ref, status="under_review")
    out = tmp_path / "outbox-1.json"
    desk.export_outbox(out)
    records = decode(out.read_bytes(), {desk.coalition: desk.public.signing_key}).records
    assert [r.seq for r in records if r.type == "status"] == [seq]
    assert all(r.type != "transfer" for r in records)

    # Exported: the outbox may be delivered at any time, so it is no longer taken back.
    desk.transfer(case.ref, KG, consent_in_message=True)
    sent = tmp_path / "outbox-2.json"
    desk.export_outbox(sent)
    with pytest.raises(TransferSentError):
        desk.cancel_transfer(case.ref)
    # The server refused that outbox (the family added a file the desk had not imported):
    # nothing of it was applied, so the transfer can be taken back after all.
    refusal = tmp_path / "outbox-2.receipt.json"
    refusal.write_bytes(
        receipt.encode(desk.coalition, sent.read_bytes(), False, {case.ref: seq}, "outbox")
    )
    desk.import_receipt(refusal)
    assert desk.cancel_transfer(case.ref) == KG
    desk.set_triage(case.ref, status="closed")  # this desk's case again


def test_the_cli_takes_a_transfer_back(
    desk: Desk,
    kg_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.cli import main

    case, _answers, _photo = imported_case(desk, tmp_path)
    desk.add_coalition(registry_of(tmp_path, kg_dir), kg_fingerprint(kg_dir))
    desk.close()
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    folder = str(desk.directory)
    ref = case.ref[:8]
    assert main(["desk", "transfer", "--dir", folder, ref, "--to", KG, "--consent-in-message"]) == 0
    assert main(["desk", "transfer", "--dir", folder, ref, "--cancel", "--to", KG]) == 2
    assert main(["desk", "transfer", "--dir", folder, ref]) == 2  # neither --to nor --cancel
    capsys.readouterr()
    assert main(["desk", "transfer", "--dir", folder, ref, "--cancel"]) == 0
    assert f"The transfer to {KG} is taken back" in capsys.readouterr().out
    assert main(["desk", "show", "--dir", folder, ref]) == 0
    assert f"the transfer to the coalition {KG} was taken back" in capsys.readouterr().out
