"""The key ceremony: desk files, fingerprints, passphrases, KDF limits, rotation."""

from __future__ import annotations

import base64
import json
import re
import stat
import tomllib
from pathlib import Path

import pytest

import service.desk.store.keys as keys
from service.cli import main
from service.common.contract.credential import load_credential
from service.common.crypto.keys import fingerprint, fingerprint_lines, key_id, sign, verify
from service.common.crypto.wrap import MIN_LIMITS, SENSITIVE_LIMITS, wrapped_limits
from service.common.passphrase import MIN_BITS, check_strength, estimate_bits, suggest, word_list
from service.desk.casework.desk import init_desk, open_desk, rotate_key
from service.desk.errors import (
    DeskDamagedError,
    DeskExistsError,
    DeskNotFoundError,
    DeskSetupError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from service.server.registry.schemas import Coalition
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    sealed,
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_private_files_prints_fingerprints_and_a_registry_snippet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    folder = tmp_path / "desk"
    code, out, err = run(capsys, "desk", "init", "--dir", str(folder), "--coalition", COALITION)
    assert code == 0, err
    assert "MINIMUM Argon2id limits" in err  # the test-only KDF is announced loudly

    names = sorted(p.name for p in folder.iterdir())
    assert names[:4] == ["courier-credential.json", "desk.sqlite3", "keys.json", "public-key.toml"]
    assert mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir()), names

    public = keys.read_public(folder)
    courier = json.loads((folder / "courier-credential.json").read_text())
    # Three distinct keys, each fingerprint printed in groups of four to read aloud.
    shown = [public.epochs[0][1], public.signing_key, bytes.fromhex(courier["verify_key"])]
    assert len(set(shown)) == 3
    for key in shown:
        for line in fingerprint_lines(key):
            assert re.fullmatch(r"[0-9A-F]{4}( [0-9A-F]{4}){3}", line)
            assert line in out
    assert "courier-credential.json" in out
    assert "DELETE it from this desk" in out

    snippet = tomllib.loads((folder / "public-key.toml").read_text())
    entry = snippet["coalition"][0]
    assert entry["id"] == COALITION
    assert entry["names"] == {"en": "<fill in>"}
    assert entry["countries"] == []
    assert entry["signing_key"] == public.signing_key.hex()
    assert entry["keys"] == [
        {
            "epoch": 1,
            "public_key": public.epochs[0][1].hex(),
            "fingerprint": fingerprint(public.epochs[0][1]),
        }
    ]
    assert entry["couriers"] == [{"verify_key": courier["verify_key"]}]
    # What the operator pastes is what the server's registry accepts.
    Coalition.model_validate({**entry, "names": {"en": "Coalition against Torture"}})

    assert courier["coalition"] == COALITION
    assert courier["key_id"] == key_id(bytes.fromhex(courier["verify_key"])).hex()
    probe = b"courier probe"
    verify(
        bytes.fromhex(courier["verify_key"]),
        probe,
        sign(bytes.fromhex(courier["seed"]), probe),
    )
    # The courier machine's own reader accepts the file as written.
    assert load_credential(folder / "courier-credential.json").coalition == COALITION


def test_the_default_kdf_is_libsodium_sensitive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one test at the real limits (about 2 x 3 s and 1 GiB): the default protects.
    monkeypatch.delenv("ARYZ_DESK_KDF")
    ceremony = init_desk(tmp_path / "desk", COALITION, PASSPHRASE)
    assert ceremony.limits == SENSITIVE_LIMITS
    stored = json.loads((tmp_path / "desk" / "keys.json").read_text())
    assert wrapped_limits(base64.b64decode(stored["wrapped"])) == SENSITIVE_LIMITS
    with open_desk(tmp_path / "desk", PASSPHRASE) as desk:
        assert desk.limits == SENSITIVE_LIMITS


def test_minimum_limits_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys.kdf_limits_from_env({}) == SENSITIVE_LIMITS
    assert keys.kdf_limits_from_env({"ARYZ_DESK_KDF": "minimum"}) == MIN_LIMITS
    monkeypatch.setenv("ARYZ_DESK_KDF", "fast")
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "init", "--dir", "/nonexistent/desk", "--coalition", COALITION]) == 2


@pytest.mark.parametrize(
    "weak",
    [
        "short",
        "correct horse battery staple",  # four words
        "aaaa bbbb cccc dddd eeee ffff",  # enough words, no entropy
        "the the the the the the the the",  # one word, repeated
        "my dog likes long walks",  # a short sentence
        "Tr0ub4dor&3-Tr0ub4dor&3",  # one "word", however mangled
    ],
)
def test_weak_passphrases_are_refused_and_nothing_is_created(
    weak: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(WeakPassphraseError):
        check_strength(weak)
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", weak)
    code, _out, err = run(capsys, "desk", "init", "--dir", str(tmp_path / "d"), "--coalition", "x")
    assert code == 2
    assert WeakPassphraseError.message in err
    assert weak not in err
    assert not (tmp_path / "d").exists()


def test_strong_passphrases_pass() -> None:
    for _ in range(20):
        check_strength(suggest())
    check_strength("Мы любим гулять в парке каждый день")  # a real sentence, in Russian
    assert estimate_bits(suggest()) >= 7 * 11 > MIN_BITS


def test_word_list_is_large_plain_and_deterministic() -> None:
    words = word_list()
    assert len(words) >= 2048
    assert len(set(words)) == len(words)
    assert list(words) == sorted(words)
    assert all(re.fullmatch(r"[a-z]{3,9}", w) for w in words)
    assert all(w in words for w in suggest().split())
    assert len(suggest().split()) == 7


def test_wrong_passphrase_is_a_clear_error(
    desk_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(WrongPassphraseError):
        open_desk(desk_dir, PASSPHRASE + " extra")
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", "orchard lantern walrus pebble violin harbor")
    code, out, err = run(capsys, "desk", "list", "--dir", str(desk_dir))
    assert code == 2
    assert err == f"aryz: {WrongPassphraseError.message}\n"
    assert out == ""


def test_passphrase_is_normalised_so_spacing_does_not_lock_staff_out(desk_dir: Path) -> None:
    with open_desk(desk_dir, "  orchard  lantern walrus\tpebble violin harbor quilt ") as desk:
        assert desk.coalition == COALITION


def test_interactive_init_asks_twice_and_refuses_a_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSPHRASE, PASSPHRASE + " typo"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))
    code, _out, err = run(capsys, "desk", "init", "--dir", str(tmp_path / "d"), "--coalition", "x")
    assert code == 2
    assert "differ" in err
    assert not (tmp_path / "d").exists()

    answers = iter([PASSPHRASE, PASSPHRASE])
    code, _out, err = run(capsys, "desk", "init", "--dir", str(tmp_path / "d"), "--coalition", "x")
    assert code == 0, err


def test_init_never_touches_a_folder_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("earlier work")
    with pytest.raises(DeskExistsError):
        init_desk(tmp_path, COALITION, PASSPHRASE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_an_edited_key_file_does_not_unlock(desk_dir: Path) -> None:
    path = desk_dir / "keys.json"
    document = json.loads(path.read_text())
    original = path.read_text()
    # Someone swaps in their own signing key, hoping the desk signs for them.
    document["signing_key"] = "ab" * 32
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassphraseError):
        open_desk(desk_dir, PASSPHRASE)
    path.write_text("{not json")
    with pytest.raises(DeskDamagedError):
        open_desk(desk_dir, PASSPHRASE)
    path.write_text(original)
    open_desk(desk_dir, PASSPHRASE).close()


def test_fingerprints_command_repeats_the_ceremony_output(
    desk_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    code, out, _err = run(capsys, "desk", "fingerprints", "--dir", str(desk_dir))
    assert code == 0
    for line in fingerprint_lines(keys.read_public(desk_dir).signing_key):
        assert line in out


def test_rotation_adds_an_epoch_and_old_items_stay_readable(desk_dir: Path, tmp_path: Path) -> None:
    old_case, new_case = FakeCase(), FakeCase()
    old_key = keys.read_public(desk_dir).epochs[0][1]
    old_item = sealed(old_case, answers_plaintext(old_case, {"narrative": "before"}), [old_key])

    rotation = rotate_key(desk_dir, PASSPHRASE)
    assert rotation.epoch == 2
    block = tomllib.loads((desk_dir / "public-key.toml").read_text())
    # Only the new key block: the operator adds it to the existing entry.
    assert block == {
        "coalition": {
            "keys": [
                {
                    "epoch": 2,
                    "public_key": rotation.public.epochs[1][1].hex(),
                    "fingerprint": fingerprint(rotation.public.epochs[1][1]),
                }
            ]
        }
    }
    new_key = rotation.public.epochs[1][1]
    assert new_key != old_key
    new_item = sealed(new_case, answers_plaintext(new_case, {"narrative": "after"}), [new_key])
    bundle = tmp_path / "b.aryz"
    bundle.write_bytes(bundle_bytes([old_item, new_item]))
    with open_desk(desk_dir, PASSPHRASE) as desk:
        report = desk.import_bundle(bundle)
        assert (report.imported, report.problems) == (2, ())
        assert desk.get_case(old_case.ref).answers == {"narrative": "before"}
        assert desk.get_case(new_case.ref).answers == {"narrative": "after"}
        assert [e for e, _k in desk.public.epochs] == [1, 2]


def test_coalition_id_must_be_a_registry_id(tmp_path: Path) -> None:
    with pytest.raises(DeskSetupError, match="lowercase letters"):
        init_desk(tmp_path / "d", "KZ Coalition", PASSPHRASE)
    assert not (tmp_path / "d").exists()


def test_a_folder_without_a_desk_says_so(tmp_path: Path) -> None:
    with pytest.raises(DeskNotFoundError):
        open_desk(tmp_path, PASSPHRASE)
