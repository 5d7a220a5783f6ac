"""A server with one coalition alone: it serves, says before anyone writes where reports
about the other countries go, files a report about a country without a coalition of its
own, and the coalition's courier pulls it (a real ``aryz serve`` process)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from service.common.contract.credential import credential_json
from service.common.contract.statement import KeyStatement, make_statement
from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import BoxKeyPair, SigningKeyPair
from service.common.crypto.payload import split_payload
from service.server.registry.logic import parse_registry
from tests.courier.helpers import bundle_items, desk
from tests.server import ServerProcess
from tests.support import file_report, run_aryz, without_duty

pytestmark = pytest.mark.slow

KZ = "kz-coalition"


def one_coalition_registry(registry_dir: Path, out: Path) -> Path:
    """The demo registry cut down to the KZ coalition, which is also the fallback, with a
    key statement its desk signed saying so."""
    text = (registry_dir / "registry.toml").read_text(encoding="utf-8")
    head, *blocks = text.split("[[coalition]]\n")
    (block,) = [b for b in blocks if f'id = "{KZ}"\n' in b]
    block = without_duty(block.replace("fallback = false", "fallback = true"))
    entry = parse_registry(
        head + "[[coalition]]\n" + re.sub(r"^key_statement = .*\n", "", block, flags=re.M)
    ).get(KZ)
    assert entry is not None
    statement = KeyStatement(
        coalition=KZ,
        countries=("KZ",),
        fallback=True,
        serial=2,
        keys=tuple((k.epoch, k.public_key) for k in entry.current_keys),
    )
    signed = make_statement(statement, desk(registry_dir, KZ).signing_seed)
    block = re.sub(
        r"^key_statement = .*$", lambda _m: f"key_statement = '{signed}'", block, flags=re.M
    )
    out.write_text(head + "[[coalition]]\n" + block, encoding="utf-8")
    return out


def test_one_coalition_serves_and_files(
    tmp_path: Path,
    database_url: str,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    registry = one_coalition_registry(registry_dir, tmp_path / "registry.toml")
    with ServerProcess(tmp_path, database_url, registry) as server:
        with httpx.Client(base_url=server.url, trust_env=False) as web:
            write = web.get("/en/report").text
            # Said on the page where the person writes, before anything is written.
            assert "No organisation of these countries receives reports here" in write
            assert (
                "Kyrgyzstan, Tajikistan, Uzbekistan (including Karakalpakstan), Turkmenistan"
                in write
            )
            assert "goes to Coalition against Torture in Kazakhstan" in write
            # In Russian too.
            assert "Коалиция против пыток в Казахстане" in web.get("/ru/report").text
            assert "Kyrgyzstan" not in web.get("/ru/report").text
            listed = web.get("/en/keys").text
            assert "Also receives the reports about countries that have no organisation" in listed
            assert "International organisation" not in listed
            file_report(web, country="KG", narrative="Избили в Бишкеке.")

        keys = desk(registry_dir, KZ)
        entry = parse_registry(registry.read_text()).get(KZ)
        assert entry is not None
        credential = tmp_path / "kz.courier.json"
        credential.write_text(
            credential_json(KZ, SigningKeyPair(entry.couriers[0].verify_key, keys.courier_seed))
        )
        out = tmp_path / "kz.bundle"
        pulled = run_aryz(
            "courier", "pull", "--server", server.courier_url,
            "--credential", str(credential), "--out", str(out),
        )  # fmt: skip
        assert pulled.returncode == 0, pulled.stderr
        assert "1 items" in pulled.stdout

    _manifest, items = bundle_items(out.read_bytes())
    ((_ref, sealed),) = items
    _meta, body = split_payload(open_envelope(sealed, [desk_keys[KZ]]))
    answers = json.loads(body)
    assert answers["country"] == "KG"
    assert answers["coalition"] == KZ
