"""A server that drops, duplicates, reorders or injects items of a case is caught.

The items are sealed as the submitters' writers seal them (the case's signing key from
the token, a position per item, padded v3 envelopes); the "server" is the test building
the bundles, free to change which items it lists and in what order.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.cli import main
from service.common.crypto.envelope import seal
from service.common.crypto.itemseal import seal_case_item
from service.common.crypto.payload import encode_payload_prefix, split_payload
from service.common.crypto.token import MIN_LIMITS, TokenSecrets, derive, generate_token
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.payload import answers_plaintext
from service.desk.casework import completeness
from service.desk.casework.desk import Desk
from service.field.client import seal_file
from tests.desk.helpers import PASSPHRASE, FakeCase, Sealed, bundle_bytes, recipients

Filed = tuple[FakeCase, TokenSecrets, list[Sealed]]


def message(secrets_: TokenSecrets, to: list[bytes], position: int, text: str) -> bytes:
    meta = {"type": "message", "created": "2026-W49", "media_type": "text/plain; charset=utf-8"}
    return seal_case_item(
        to,
        secrets_.signing,
        secrets_.reply.public,
        position,
        lambda fields: encode_payload_prefix({**meta, **fields}) + text.encode("utf-8"),
    )


@pytest.fixture
def filed(desk: Desk, tmp_path: Path) -> Filed:
    """A case of four items, positions 1..4, as a submitter sealed them."""
    token_secrets = derive(generate_token(), MIN_LIMITS)
    case = FakeCase(reply=token_secrets.reply)
    to = recipients(desk)
    answers = seal_case_item(
        to,
        token_secrets.signing,
        token_secrets.reply.public,
        1,
        lambda fields: answers_plaintext(
            BASIC,
            language="ru",
            country="KZ",
            coalition_id="kz-coalition",
            answers={"narrative": "They came at night."},
            case_public_key=token_secrets.reply.public,
            seal=fields,
        ),
    )
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8" + bytes(70_000))
    coalition = {"keys": [{"public_key": k.hex()} for k in to]}
    sealed_file = seal_file(photo, coalition, token_secrets, tmp_path, 2)
    envelopes = [
        answers,
        sealed_file.read_bytes(),
        message(token_secrets, to, 3, "One more thing."),
        message(token_secrets, to, 4, "And another."),
    ]
    items = [Sealed(case, secrets.token_hex(16), e) for e in envelopes]
    return case, token_secrets, items


def imported(desk: Desk, tmp_path: Path, items: list[Sealed]) -> completeness.Completeness:
    path = tmp_path / f"{secrets.token_hex(4)}.aryz"
    path.write_bytes(bundle_bytes(items))
    report = desk.import_bundle(path)
    assert report.problems == ()
    result = desk.get_case(items[0].case.ref).completeness
    assert result is not None
    return result


def again(item: Sealed) -> Sealed:
    """The same sealed bytes under a new reference: what a server stores twice."""
    return Sealed(item.case, secrets.token_hex(16), item.envelope)


def test_a_case_as_sent_is_complete(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    _case, _s, items = filed
    result = imported(desk, tmp_path, items)
    assert result == completeness.Completeness(completeness.COMPLETE, 4)


def test_a_dropped_item_is_missing(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    _case, _s, items = filed
    result = imported(desk, tmp_path, [items[0], items[2], items[3]])
    assert result.state == completeness.PROBLEMS
    assert result.findings == (completeness.Finding(completeness.MISSING, (2,), ()),)


def test_a_dropped_item_shows_once_a_later_bundle_arrives(
    desk: Desk, tmp_path: Path, filed: Filed
) -> None:
    # The last item dropped cannot be seen until a later one names a higher position.
    _case, _s, items = filed
    assert imported(desk, tmp_path, items[:2]).state == completeness.COMPLETE
    result = imported(desk, tmp_path, [items[3]])
    assert result.findings == (completeness.Finding(completeness.MISSING, (3,), ()),)


def test_a_duplicated_item_is_caught(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    _case, _s, items = filed
    copy = again(items[1])
    result = imported(desk, tmp_path, [*items[:2], copy, *items[2:]])
    assert result.findings == (
        completeness.Finding(completeness.DUPLICATED, (2,), (items[1].ref, copy.ref)),
    )


def test_reordered_items_are_caught(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    _case, _s, items = filed
    result = imported(desk, tmp_path, [items[0], items[2], items[1], items[3]])
    assert result.findings == (completeness.Finding(completeness.REORDERED, (2,), (items[1].ref,)),)


def test_injected_items_are_caught(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    case, token_secrets, items = filed
    to = recipients(desk)
    meta = {
        "type": "message",
        "created": "2026-W49",
        "case_public_key": case.public_hex,
    }
    # 1. The server seals its own message to the case: it knows both public keys.
    plain = seal(encode_payload_prefix(meta) + b"Withdraw the complaint.", to, padded=True)
    # 2. It signs it with a key of its own, at the next position.
    forger = derive(generate_token(), MIN_LIMITS)
    own_key = seal_case_item(
        to,
        forger.signing,
        token_secrets.reply.public,
        5,
        lambda fields: encode_payload_prefix({**meta, **fields}) + b"Withdraw it.",
    )
    # 3. It copies a genuine item's seal (it cannot read one, but a coalition member
    # could): the signature covers that item's header, not this one's.
    genuine = split_payload(_open(desk, items[2].envelope))[0]
    copied = {k: genuine[k] for k in ("position", "case_signing_key", "item_signature")}
    copy_seal = seal(
        encode_payload_prefix({**meta, **copied}) + b"Withdraw it now.", to, padded=True
    )
    fakes = [Sealed(case, secrets.token_hex(16), e) for e in (plain, own_key, copy_seal)]
    result = imported(desk, tmp_path, [*items, *fakes])
    assert result.findings == (
        completeness.Finding(completeness.INJECTED, (), tuple(f.ref for f in fakes)),
    )


def test_old_items_without_seals_cannot_be_checked(desk: Desk, tmp_path: Path) -> None:
    token_secrets = derive(generate_token(), MIN_LIMITS)
    case = FakeCase(reply=token_secrets.reply)
    meta = {"type": "message", "created": "2026-W49", "case_public_key": case.public_hex}
    envelope = seal(encode_payload_prefix(meta) + b"hello", recipients(desk))
    result = imported(desk, tmp_path, [Sealed(case, secrets.token_hex(16), envelope)])
    assert result.state == completeness.UNCHECKED


def test_show_says_what_the_server_did(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    filed: Filed,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case, _s, items = filed
    imported(desk, tmp_path, [items[0], items[2], again(items[2]), items[1]])
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "show", "--dir", str(desk_dir), case.ref]) == 0
    out = capsys.readouterr().out
    assert "NOT AS SENT" in out
    assert f"duplicated: position 3; item {items[2].ref[:8]}" in out
    assert "reordered: position 2" in out
    assert "missing" not in out  # position 4 was never sent as far as anyone can tell


def test_show_says_a_whole_case_is_complete(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    filed: Filed,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case, _s, items = filed
    imported(desk, tmp_path, items)
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "show", "--dir", str(desk_dir), case.ref]) == 0
    assert "complete: positions 1 to 4, each once, in order" in capsys.readouterr().out


def _open(desk: Desk, envelope: bytes) -> bytes:
    from service.common.crypto.envelope import open_envelope

    return open_envelope(envelope, desk._keyring.decryption_keys)  # noqa: SLF001


def test_the_case_page_says_what_the_server_did(desk: Desk, tmp_path: Path, filed: Filed) -> None:
    from fastapi.testclient import TestClient

    from service.desk.web.app import create_desk_app

    case, token_secrets, items = filed
    to = recipients(desk)
    forged = seal(
        encode_payload_prefix(
            {"type": "message", "created": "2026-W49", "case_public_key": case.public_hex}
        )
        + b"Withdraw it.",
        to,
        padded=True,
    )
    fake = Sealed(case, secrets.token_hex(16), forged)
    imported(desk, tmp_path, [items[0], items[2], again(items[2]), items[1], fake])
    port = 8765
    app = create_desk_app(desk, port)
    with TestClient(app, base_url=f"http://127.0.0.1:{port}") as web:
        web.get(app.state.gate.login_path, follow_redirects=False)  # as staff do, first
        page = web.get(f"/en/case/{case.ref}").text
        russian = web.get(f"/ru/case/{case.ref}").text
    assert "Not as the person sent them:" in page
    assert f"added by someone without the token: item {fake.ref[:8]}." in page
    assert "The same item stored more than once: position 3." in page
    assert "Arrived in another order than sent: position 2." in page
    assert "Not as the person sent them:" not in russian  # translated
    assert f"{fake.ref[:8]}" in russian


def test_the_case_page_says_a_whole_case_is_complete(
    desk: Desk, tmp_path: Path, filed: Filed
) -> None:
    from fastapi.testclient import TestClient

    from service.desk.web.app import create_desk_app

    case, _s, items = filed
    imported(desk, tmp_path, items)
    port = 8765
    app = create_desk_app(desk, port)
    with TestClient(app, base_url=f"http://127.0.0.1:{port}") as web:
        web.get(app.state.gate.login_path, follow_redirects=False)  # as staff do, first
        page = web.get(f"/en/case/{case.ref}").text
    assert "Complete: items 1 to 4, each once, in order." in page


def _record(position: int, digest: str = "", signer: str = "k" * 64) -> dict[str, Any]:
    return {
        "position": position,
        "signer": signer,
        "valid": True,
        "digest": digest or str(position),
    }


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=12), data=st.data())
def test_any_change_a_server_makes_is_a_finding(n: int, data: st.DataObject) -> None:
    sent = [(f"item{p}", _record(p)) for p in range(1, n + 1)]
    assert completeness.check_case(sent).state == completeness.COMPLETE
    change = data.draw(st.sampled_from(["drop", "duplicate", "swap", "inject"]))
    kept: list[tuple[str, dict[str, Any] | None]] = list(sent)
    if change == "drop":
        if n < 2:
            return
        # Anything but the last: a dropped tail is invisible until a later item comes.
        del kept[data.draw(st.integers(min_value=0, max_value=n - 2))]
    elif change == "duplicate":
        ref, seal = kept[data.draw(st.integers(min_value=0, max_value=n - 1))]
        kept.insert(data.draw(st.integers(0, n)), (ref + "-copy", seal))
    elif change == "swap":
        if n < 2:
            return
        i = data.draw(st.integers(min_value=0, max_value=n - 2))
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    else:
        forged = data.draw(
            st.sampled_from(
                [None, {**_record(n + 1), "valid": False}, _record(n + 1, signer="f" * 64)]
            )
        )
        kept.insert(data.draw(st.integers(1, n)), ("forged", forged))
    result = completeness.check_case(kept)
    assert result.state == completeness.PROBLEMS
    kinds = {f.kind for f in result.findings}
    expected = {
        "drop": completeness.MISSING,
        "duplicate": completeness.DUPLICATED,
        "swap": completeness.REORDERED,
        "inject": completeness.INJECTED,
    }[change]
    assert expected in kinds


def test_an_old_case_followed_up_is_checked_from_its_first_new_position() -> None:
    # Three items imported before the desk knew seals, then follow-ups at positions 4, 5.
    items = [("new4", _record(4)), ("new5", _record(5))]
    result = completeness.check_case(items, legacy=3)
    assert result == completeness.Completeness(completeness.COMPLETE, 5, (), 4)
    assert "complete from position 4 to 5" in completeness.summary_lines(result)[0]
    # A follow-up dropped is still seen; an unsigned newcomer is not an old item.
    dropped = completeness.check_case([("new5", _record(5)), ("late", None)], legacy=3)
    assert dropped.findings == (
        completeness.Finding(completeness.INJECTED, (), ("late",)),
        completeness.Finding(completeness.MISSING, (4,), ()),
    )


def test_dropping_the_answers_is_seen_even_with_an_unsigned_stand_in() -> None:
    # The server drops position 1 and puts an unsigned item of its own first.
    result = completeness.check_case([("stand-in", None), ("a2", _record(2))])
    assert result.findings == (
        completeness.Finding(completeness.INJECTED, (), ("stand-in",)),
        completeness.Finding(completeness.MISSING, (1,), ()),
    )
