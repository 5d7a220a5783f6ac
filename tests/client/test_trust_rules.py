"""The client's trust rules, without a server: which key statements ``aryz submit``
accepts (service/field/trust.py, service/server/registry/statement.py; audit F-02)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.common.contract.statement import KeyStatement, StatementError, make_statement
from service.common.crypto.keys import fingerprint, generate_box_keypair, generate_signing_keypair
from service.common.crypto.token import MIN_LIMITS
from service.field.client import ServerInfo, trusted_coalition
from service.field.trust import NotPinnedError, Trust, TrustError, load_pins

SIGNER = generate_signing_keypair()
BOX = generate_box_keypair()
FP = fingerprint(SIGNER.verify)


def _coalition(
    serial: int = 2, countries: tuple[str, ...] = ("KZ",), **over: Any
) -> dict[str, Any]:
    statement = KeyStatement("kz-coalition", countries, False, serial, ((1, BOX.public),))
    data = {
        "id": "kz-coalition",
        "countries": ["KZ"],
        "fallback": False,
        "keys": [{"epoch": 1, "public_key": generate_box_keypair().public.hex()}],
        "signing_key": SIGNER.verify.hex(),
        "key_statement": make_statement(statement, SIGNER.seed),
    }
    data.update(over)
    return data


def _info(coalition: dict[str, Any]) -> ServerInfo:
    return ServerInfo(MIN_LIMITS, [coalition], 1000)


def test_only_the_signed_keys_are_sealed_to(tmp_path: Path) -> None:
    trust = Trust(given=(FP,), store=tmp_path / "t.json")
    chosen = trusted_coalition(_info(_coalition()), trust, "KZ", None)
    # The server's unsigned key list is ignored: the statement's key is used.
    assert [k["public_key"] for k in chosen["keys"]] == [BOX.public.hex()]


def test_a_statement_not_serving_the_country_is_refused(tmp_path: Path) -> None:
    trust = Trust(given=(FP,), store=None)
    with pytest.raises(TrustError, match="not signed as serving it"):
        trusted_coalition(_info(_coalition(countries=("KG",))), trust, "KZ", None)


def test_tampered_missing_and_older_statements_are_refused(tmp_path: Path) -> None:
    store = tmp_path / "t.json"
    trust = Trust(given=(FP,), store=store)
    tampered = _coalition()
    tampered["key_statement"] = tampered["key_statement"].replace(
        BOX.public.hex(), generate_box_keypair().public.hex()
    )
    with pytest.raises(TrustError, match="not signed by its trusted key"):
        trust.statement(tampered)
    with pytest.raises(TrustError, match="no signed key statement"):
        trust.statement(_coalition(key_statement=None))
    trust.statement(_coalition(serial=5))
    assert json.loads(store.read_text())["kz-coalition"]["serial"] == 5
    with pytest.raises(TrustError, match="older key statement"):
        Trust(store=store).statement(_coalition(serial=4))  # remembered fingerprint, serial


def test_first_use_asks_and_remembers(tmp_path: Path) -> None:
    store = tmp_path / "t.json"
    asked: list[tuple[str, str]] = []

    def refuse(coalition: str, shown: str) -> bool:
        asked.append((coalition, shown))
        return False

    with pytest.raises(NotPinnedError):
        Trust(store=store, confirm=refuse).statement(_coalition())
    assert asked == [("kz-coalition", FP)]
    assert not store.exists()
    Trust(store=store, confirm=lambda _c, _f: True).statement(_coalition())
    # Remembered: another key is refused from now on, naming the remembered fingerprint.
    other = generate_signing_keypair()
    forged = _coalition(signing_key=other.verify.hex())
    with pytest.raises(TrustError, match="Expected fingerprint: " + FP):
        Trust(store=store).statement(forged)


def test_a_server_supplied_id_with_escapes_is_not_printed() -> None:
    with pytest.raises(NotPinnedError) as refused:
        Trust(store=None).statement(_coalition(id="kz\x1b]0;pwned\x07"))
    assert "\x1b" not in refused.value.message


def test_the_shipped_pins_file_reads() -> None:
    assert isinstance(load_pins(), dict)


def test_statements_refuse_extra_fields() -> None:
    text = make_statement(
        KeyStatement("kz-coalition", ("KZ",), False, 1, ((1, BOX.public),)), SIGNER.seed
    )
    document = json.loads(text)
    document["body"]["extra"] = 1
    from service.common.contract.statement import parse_statement

    with pytest.raises(StatementError):
        parse_statement(json.dumps(document), SIGNER.verify)
    assert parse_statement(text, SIGNER.verify).recipients == [BOX.public]
