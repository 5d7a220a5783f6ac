"""``aryz demo``: a complete local instance with demo keys, for trying Aryz end to end.

The coalitions' private keys are written to ``desk-keys/`` beside the data, standing in for
the air-gapped desks; they are marked as demo keys, and a server outside demo mode refuses
a registry that contains them. Each coalition also gets one courier credential: its seed is
``courier_seed`` in the same file, and ``couriers/<id>.json`` holds it in the credential
format ``aryz courier pull/push --credential`` reads, so the round trip can be tried.
Each national coalition also gets a duty key for the urgent lane (``duty-keys/<id>.json``,
what ``aryz duty watch --key`` reads); the international fallback has none, so the demo
shows both cases.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from pydantic import SecretStr

import service.common.files as files
from service.common.contract.credential import credential_json
from service.common.contract.duty_key import new_duty_key, write_duty_key
from service.common.contract.statement import KeyStatement, make_statement
from service.common.crypto.keys import fingerprint, generate_box_keypair, generate_signing_keypair
from service.server.settings import Mode, Settings
from service.server.storage import migrate

# id, countries, fallback, the name in each language of the site (service/common/i18n): a page
# shows the organisation's name in the reader's language, so the demo carries all nine.
DEMO_COALITIONS: tuple[tuple[str, list[str], bool, dict[str, str]], ...] = (
    (
        "kz-coalition",
        ["KZ"],
        False,
        {
            "en": "Coalition against Torture in Kazakhstan",
            "ru": "Коалиция против пыток в Казахстане",
            "kk": "Қазақстандағы азаптауларға қарсы коалиция",
            "ky": "Казакстандагы кыйноолорго каршы коалиция",
            "tg": "Эътилофи зидди шиканҷа дар Қазоқистон",
            "uz": "Qozogʻistondagi qiynoqlarga qarshi koalitsiya",
            "uz-cyrl": "Қозоғистондаги қийноқларга қарши коалиция",
            "tk": "Gazagystanda gynamalara garşy koalisiýa",
            "kaa": "Qazaqstandaǵı qıynawlarǵa qarsı koaliciya",
        },
    ),
    (
        "kg-coalition",
        ["KG"],
        False,
        {
            "en": "Coalition against Torture in Kyrgyzstan",
            "ru": "Коалиция против пыток в Кыргызстане",
            "kk": "Қырғызстандағы азаптауларға қарсы коалиция",
            "ky": "Кыргызстандагы кыйноолорго каршы коалиция",
            "tg": "Эътилофи зидди шиканҷа дар Қирғизистон",
            "uz": "Qirgʻizistondagi qiynoqlarga qarshi koalitsiya",
            "uz-cyrl": "Қирғизистондаги қийноқларга қарши коалиция",
            "tk": "Gyrgyzystanda gynamalara garşy koalisiýa",
            "kaa": "Qırǵızstandaǵı qıynawlarǵa qarsı koaliciya",
        },
    ),
    (
        "tj-coalition",
        ["TJ"],
        False,
        {
            "en": "Coalition against Torture and Impunity in Tajikistan",
            "ru": "Коалиция против пыток и безнаказанности в Таджикистане",
            "kk": "Тәжікстандағы азаптауларға және жазасыздыққа қарсы коалиция",
            "ky": "Тажикстандагы кыйноолорго жана жазасыздыкка каршы коалиция",
            "tg": "Эътилофи зидди шиканҷа ва беҷазоӣ дар Тоҷикистон",
            "uz": "Tojikistondagi qiynoqlar va jazosizlikka qarshi koalitsiya",
            "uz-cyrl": "Тожикистондаги қийноқлар ва жазосизликка қарши коалиция",
            "tk": "Täjigistanda gynamalara we jezasyzlyga garşy koalisiýa",
            "kaa": "Tájikstandaǵı qıynawlarǵa hám jazasızlıqqa qarsı koaliciya",
        },
    ),
    (
        "ahrca",
        ["UZ"],
        False,
        {
            "en": "Association for Human Rights in Central Asia (AHRCA)",
            "ru": "Ассоциация «Права человека в Центральной Азии» (AHRCA)",
            "kk": "«Орталық Азиядағы адам құқықтары» қауымдастығы (AHRCA)",
            "ky": "«Борбордук Азиядагы адам укуктары» ассоциациясы (AHRCA)",
            "tg": "Ассотсиатсияи «Ҳуқуқи инсон дар Осиёи Марказӣ» (AHRCA)",
            "uz": "«Markaziy Osiyoda inson huquqlari» assotsiatsiyasi (AHRCA)",
            "uz-cyrl": "«Марказий Осиёда инсон ҳуқуқлари» ассоциацияси (AHRCA)",
            "tk": "«Merkezi Aziýada adam hukuklary» assosiasiýasy (AHRCA)",
            "kaa": "«Orta Aziyada adam huqıqları» associaciyası (AHRCA)",
        },
    ),
    (
        "tihr",
        ["TM"],
        False,
        {
            "en": "Turkmen Initiative for Human Rights (TIHR)",
            "ru": "Туркменская инициатива по правам человека (TIHR)",
            "kk": "Адам құқықтары жөніндегі түрікмен бастамасы (TIHR)",
            "ky": "Адам укуктары боюнча түркмөн демилгеси (TIHR)",
            "tg": "Ташаббуси туркманӣ оид ба ҳуқуқи инсон (TIHR)",
            "uz": "Inson huquqlari boʻyicha turkman tashabbusi (TIHR)",
            "uz-cyrl": "Инсон ҳуқуқлари бўйича туркман ташаббуси (TIHR)",
            "tk": "Adam hukuklary boýunça türkmen başlangyjy (TIHR)",
            "kaa": "Adam huqıqları boyınsha túrkmen baslaması (TIHR)",
        },
    ),
    (
        "iphr",
        [],
        True,
        {
            "en": "International Partnership for Human Rights (IPHR)",
            "ru": "Международное партнёрство за права человека (IPHR)",
            "kk": "Адам құқықтары жөніндегі халықаралық серіктестік (IPHR)",
            "ky": "Адам укуктары боюнча эл аралык өнөктөштүк (IPHR)",
            "tg": "Шарикии байналмилалӣ оид ба ҳуқуқи инсон (IPHR)",
            "uz": "Inson huquqlari boʻyicha xalqaro hamkorlik (IPHR)",
            "uz-cyrl": "Инсон ҳуқуқлари бўйича халқаро ҳамкорлик (IPHR)",
            "tk": "Adam hukuklary boýunça halkara hyzmatdaşlyk (IPHR)",
            "kaa": "Adam huqıqları boyınsha xalıqaralıq seriklik (IPHR)",
        },
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
        duty_dir = data_dir / "duty-keys"
        duty_dir.mkdir(mode=0o700, exist_ok=True)
        lines = [
            "# DEMO registry written by 'aryz demo'. The private keys are in desk-keys/:",
            "# never use these keys for real reports.",
            "version = 1",
        ]
        for cid, countries, fallback, names in DEMO_COALITIONS:
            box = generate_box_keypair()
            signing = generate_signing_keypair()
            courier = generate_signing_keypair()
            duty = None if fallback else new_duty_key(cid, 1)
            duty_keys = () if duty is None else ((1, duty.box.public, duty.verify_key),)
            statement = make_statement(
                KeyStatement(cid, tuple(countries), fallback, 1, ((1, box.public),), duty_keys),
                signing.seed,
            )
            lines += [
                "",
                "[[coalition]]",
                f"id = {_toml_str(cid)}",
                f"countries = {json.dumps(countries)}",
                f"fallback = {'true' if fallback else 'false'}",
                "demo = true",
                f"signing_key = {_toml_str(signing.verify.hex())}",
                # JSON without single quotes: a TOML literal string holds it as it is.
                f"key_statement = '{statement}'",
                "names = { "
                + ", ".join(f"{_toml_str(code)} = {_toml_str(n)}" for code, n in names.items())
                + " }",
                "[[coalition.keys]]",
                "epoch = 1",
                f"public_key = {_toml_str(box.public.hex())}",
                f"fingerprint = {_toml_str(fingerprint(box.public))}",
                "[[coalition.couriers]]",
                f"verify_key = {_toml_str(courier.verify.hex())}",
                'label = "demo courier"',
                *(duty.registry_lines() if duty is not None else []),
            ]
            if duty is not None:
                write_duty_key(duty_dir / f"{cid}.json", duty)
            key_file = keys_dir / f"{cid}.json"
            files.replace(
                key_file,
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
                ).encode(),
            )
            courier_file = couriers_dir / f"{cid}.json"
            files.replace(courier_file, credential_json(cid, courier).encode())
        registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry


def create_demo(data_dir: Path) -> Settings:
    """Create (once) a demo data dir: registry, desk keys, pepper, migrated SQLite."""
    registry = write_demo_registry(data_dir)
    pepper_file = data_dir / "demo-pepper.hex"
    if not pepper_file.exists():
        files.write_new(pepper_file, secrets.token_hex(32).encode("ascii"))
    settings = Settings(
        mode=Mode.DEMO,
        data_dir=data_dir,
        registry_path=registry,
        token_pepper=SecretStr(pepper_file.read_text().strip()),
        allowed_hosts=[],
    )
    migrate.upgrade(settings.resolved_database_url)
    return settings
