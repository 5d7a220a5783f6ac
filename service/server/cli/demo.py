"""``aryz demo``: a complete local instance with demo keys, for trying Aryz end to end.

The coalitions' private keys are written to ``desk-keys/`` beside the data, standing in for
the air-gapped desks; they are marked as demo keys, and a server outside demo mode refuses
a registry that contains them. Each coalition also gets one courier credential: its seed is
``courier_seed`` in the same file, and ``couriers/<id>.json`` holds it in the credential
format ``aryz courier pull/push --credential`` reads, so the round trip can be tried.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from service.common.contract.credential import credential_json
from service.common.crypto.keys import fingerprint, generate_box_keypair, generate_signing_keypair
from service.server.settings import Mode, Settings
from service.server.storage import migrate

# id, countries, fallback, English name, Russian name
DEMO_COALITIONS: tuple[tuple[str, list[str], bool, str, str], ...] = (
    (
        "kz-coalition",
        ["KZ"],
        False,
        "Coalition against Torture in Kazakhstan",
        "Коалиция против пыток в Казахстане",
    ),
    (
        "kg-coalition",
        ["KG"],
        False,
        "Coalition against Torture in Kyrgyzstan",
        "Коалиция против пыток в Кыргызстане",
    ),
    (
        "tj-coalition",
        ["TJ"],
        False,
        "Coalition against Torture and Impunity in Tajikistan",
        "Коалиция против пыток и безнаказанности в Таджикистане",
    ),
    (
        "ahrca",
        ["UZ"],
        False,
        "Association for Human Rights in Central Asia (AHRCA)",
        "Ассоциация «Права человека в Центральной Азии» (AHRCA)",
    ),
    (
        "tihr",
        ["TM"],
        False,
        "Turkmen Initiative for Human Rights (TIHR)",
        "Туркменская инициатива по правам человека (TIHR)",
    ),
    (
        "iphr",
        [],
        True,
        "International Partnership for Human Rights (IPHR)",
        "Международное партнёрство за права человека (IPHR)",
    ),
)


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_demo_registry(data_dir: Path) -> Path:
    """Write a registry with fresh demo keys, private halves in ``desk-keys/`` (once)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = data_dir / "registry.toml"
    keys_dir = data_dir / "desk-keys"
    couriers_dir = data_dir / "couriers"
    if not registry.exists():
        keys_dir.mkdir(mode=0o700, exist_ok=True)
        couriers_dir.mkdir(mode=0o700, exist_ok=True)
        lines = [
            "# DEMO registry written by 'aryz demo'. The private keys are in desk-keys/:",
            "# never use these keys for real reports.",
            "version = 1",
        ]
        for cid, countries, fallback, en, ru in DEMO_COALITIONS:
            box = generate_box_keypair()
            signing = generate_signing_keypair()
            courier = generate_signing_keypair()
            lines += [
                "",
                "[[coalition]]",
                f"id = {_toml_str(cid)}",
                f"countries = {json.dumps(countries)}",
                f"fallback = {'true' if fallback else 'false'}",
                "demo = true",
                f"signing_key = {_toml_str(signing.verify.hex())}",
                "names = { " + f"en = {_toml_str(en)}, ru = {_toml_str(ru)}" + " }",
                "[[coalition.keys]]",
                "epoch = 1",
                f"public_key = {_toml_str(box.public.hex())}",
                f"fingerprint = {_toml_str(fingerprint(box.public))}",
                "[[coalition.couriers]]",
                f"verify_key = {_toml_str(courier.verify.hex())}",
                'label = "demo courier"',
            ]
            key_file = keys_dir / f"{cid}.json"
            key_file.write_text(
                json.dumps(
                    {
                        "warning": "DEMO KEY - NOT SECRET - stands in for an air-gapped desk",
                        "coalition": cid,
                        "box_public": box.public.hex(),
                        "box_secret": box.secret.hex(),
                        "signing_seed": signing.seed.hex(),
                        "courier_seed": courier.seed.hex(),
                    },
                    indent=2,
                )
            )
            key_file.chmod(0o600)
            courier_file = couriers_dir / f"{cid}.json"
            courier_file.write_text(credential_json(cid, courier))
            courier_file.chmod(0o600)
        registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry


def create_demo(data_dir: Path) -> Settings:
    """Create (once) a demo data dir: registry, desk keys, pepper, migrated SQLite."""
    registry = write_demo_registry(data_dir)
    pepper_file = data_dir / "demo-pepper.hex"
    if not pepper_file.exists():
        fd = os.open(pepper_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    settings = Settings(
        mode=Mode.DEMO,
        data_dir=data_dir,
        registry_path=registry,
        token_pepper=SecretStr(pepper_file.read_text().strip()),
        allowed_hosts=[],
    )
    migrate.upgrade(settings.resolved_database_url)
    return settings
