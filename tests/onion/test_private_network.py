"""End to end over real Tor, in a private Tor network on loopback (tests/onion/network.py).

``aryz serve`` publishes the intake onion (proof-of-work on) and the staff onion (client
authorisation) into the network; the ``aryz`` command, as a family's and a courier's
machine would run it, goes through the network's SOCKS port:

* a report with a file is filed to the .onion and its status read back with the token;
* a client without the courier's key cannot even reach the staff onion (tor: 0xF4);
* with the key, the courier pulls the bundle, the desk answers, the courier pushes the
  signed outbox, and the family reads the reply over the intake onion;
* the intake descriptor advertises proof-of-work;
* after a restart with the same keys the same address answers.

On SQLite and on PostgreSQL (over its unix socket, which reaches into the namespace).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import stem.descriptor.hidden_service
from sqlalchemy.engine import make_url

from onion.clients import read_client_private_file
from tests.conftest import PG_URL, _pg_exec, require
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.onion.deployment import OnionDeployment
from tests.onion.network import PrivateTorNetwork
from tests.support import trust_args
from tests.test_round_trip import PASSPHRASE, aryz

pytestmark = pytest.mark.slow

PG_SOCKET_DIR = Path("/var/run/postgresql")
DESK_ENV = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE, "ARYZ_DESK_KDF": "minimum"}
MESSAGE = "Сына задержали 3 марта, в ИВС били, требовали признание."


@dataclass
class Site:
    deployment: OnionDeployment
    desk_dir: Path
    workdir: Path
    auth_private: Path
    state: dict[str, str] = field(default_factory=dict)


def _database(
    kind: str, workdir: Path, sqlite_template: Path, pg_template: str | None
) -> Iterator[str]:
    if kind == "sqlite":
        path = workdir / "aryz.sqlite3"
        path.write_bytes(sqlite_template.read_bytes())
        yield f"sqlite:///{path}"
        return
    require(pg_template is not None, "PostgreSQL")
    name = f"aryz_tor_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = make_url(PG_URL).set(database=name)
    if PG_SOCKET_DIR.is_dir():
        # The server runs inside the network namespace: TCP to 127.0.0.1:5432 is not there,
        # the unix socket (a file) is.
        url = url.set(host=None, query={"host": str(PG_SOCKET_DIR)})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SITES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=SITES)
def site(
    request: pytest.FixtureRequest,
    tor_network: PrivateTorNetwork,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    pg_template: str | None,
) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp(f"tor-{request.param}")
    desk_dir = workdir / "desk"
    aryz("desk", "init", "--dir", str(desk_dir), "--coalition", "kz-coalition", env=DESK_ENV)
    registry = registry_with_desk(workdir / "registry", desk_dir, PASSPHRASE) / "registry.toml"
    for url in _database(request.param, workdir, sqlite_template, pg_template):
        # Each site's users have their own tor: client keys and cached descriptors of
        # one site's tests never meet the next site's.
        client = tor_network.clients[SITES.index(request.param)]
        deployment = OnionDeployment(tor_network, workdir, url, registry, client)
        auth_private = workdir / "kz-courier.auth_private"
        added = deployment.aryz("onion", "client", "add", "kz-courier", "--out", str(auth_private))
        assert added.returncode == 0, added.stderr
        deployment.start()
        try:
            yield Site(deployment, desk_dir, workdir, auth_private)
        finally:
            deployment.stop()


def _proxy(site: Site) -> list[str]:
    return ["--proxy", site.deployment.socks_url]


def test_report_with_a_file_over_tor_then_status(site: Site) -> None:
    d = site.deployment
    assert d.wait_reachable(d.intake_host) == 0x00, d.network.logs()
    message = site.workdir / "message.txt"
    message.write_text(MESSAGE, encoding="utf-8")
    photo = site.workdir / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4096)  # 1 MiB
    submitted = d.aryz(
        "submit",
        "--server",
        f"http://{d.intake_host}",
        "--country",
        "KZ",
        "--message-file",
        str(message),
        "--file",
        str(photo),
        *_proxy(site),
        *trust_args(d.env["ARYZ_REGISTRY_PATH"]),
    )
    assert submitted.returncode == 0, submitted.stderr
    tokens = re.findall(r"^\d{24}$", submitted.stdout, re.MULTILINE)
    assert tokens, submitted.stdout + submitted.stderr
    token = tokens[-1]
    site.state["token"] = token
    status = d.aryz(
        "status", "--server", f"http://{d.intake_host}", "--token", token, *_proxy(site)
    )
    assert status.returncode == 0, status.stderr
    assert "status: received" in status.stdout
    assert "items received: 2" in status.stdout


def test_staff_onion_unreachable_without_client_auth(site: Site) -> None:
    d = site.deployment
    # 0xF4: "client authorization missing" — the descriptor cannot even be decrypted.
    assert d.wait_reachable(d.staff_host, want=0xF4) == 0xF4
    pulled = d.aryz(
        "courier",
        "pull",
        "--server",
        f"http://{d.staff_host}",
        "--credential",
        str(site.desk_dir / "courier-credential.json"),
        "--out",
        str(site.workdir / "never.aryz"),
        *_proxy(site),
    )
    assert pulled.returncode != 0
    assert "client authorisation" in pulled.stderr  # said at once, not after retries
    assert "Traceback" not in pulled.stderr
    assert not (site.workdir / "never.aryz").exists()


def test_courier_with_client_auth_round_trip(site: Site) -> None:
    d = site.deployment
    service_id, secret = read_client_private_file(site.auth_private)
    with d.client.control() as control:
        control.add_client_auth(service_id, secret)
    assert d.wait_reachable(d.staff_host) == 0x00
    credential = str(site.desk_dir / "courier-credential.json")
    staff = f"http://{d.staff_host}"
    bundle = site.workdir / "usb" / "bundle.aryz"
    bundle.parent.mkdir(exist_ok=True)
    pulled = d.aryz(
        "courier",
        "pull",
        "--server",
        staff,
        "--credential",
        credential,
        "--out",
        str(bundle),
        *_proxy(site),
    )
    assert pulled.returncode == 0, pulled.stderr
    assert "2 items" in pulled.stdout

    aryz("desk", "import", "--dir", str(site.desk_dir), str(bundle), env=DESK_ENV)
    listing = aryz("desk", "list", "--dir", str(site.desk_dir), env=DESK_ENV)
    case = re.findall(r"\b[0-9a-f]{8,32}\b", listing)[0]
    assert MESSAGE in aryz("desk", "show", "--dir", str(site.desk_dir), case, env=DESK_ENV)
    aryz("desk", "set", "--dir", str(site.desk_dir), case, "--status", "under_review", env=DESK_ENV)
    reply = site.workdir / "reply.txt"
    reply.write_text("Мы получили. Адвокат свяжется с вами.", encoding="utf-8")
    aryz(
        "desk",
        "reply",
        "--dir",
        str(site.desk_dir),
        case,
        "--message-file",
        str(reply),
        env=DESK_ENV,
    )
    outbox = site.workdir / "usb" / "outbox.json"
    aryz("desk", "export", "--dir", str(site.desk_dir), "--out", str(outbox), env=DESK_ENV)
    pushed = d.aryz(
        "courier", "push", "--server", staff, "--credential", credential, str(outbox), *_proxy(site)
    )
    assert pushed.returncode == 0, pushed.stderr

    status = d.aryz(
        "status",
        "--server",
        f"http://{d.intake_host}",
        "--token",
        site.state["token"],
        *_proxy(site),
        *trust_args(d.env["ARYZ_REGISTRY_PATH"]),
    )
    assert "status: under_review (signed by the coalition, verified)" in status.stdout
    assert "Адвокат свяжется с вами." in status.stdout


def test_intake_descriptor_advertises_proof_of_work(site: Site) -> None:
    d = site.deployment
    address = d.intake_host.removesuffix(".onion")
    with d.client.control() as control:
        raw = control._info(f"hs/client/desc/id/{address}")
    descriptor = stem.descriptor.hidden_service.HiddenServiceDescriptorV3.from_str(raw)
    inner = descriptor.decrypt(d.intake_host)
    assert re.search(r"^pow-params v1 ", str(inner), re.MULTILINE), str(inner)[:2000]


def test_same_address_after_restart(site: Site) -> None:
    d = site.deployment
    before = d.intake_host
    d.stop()
    d.start()
    assert d.intake_host == before
    assert f"intake onion: http://{before}/" in d.printed().rsplit("intake onion:", 1)[0] + (
        "intake onion:" + d.printed().rsplit("intake onion:", 1)[1]
    )
    with d.client.control() as control:
        control.new_circuits()
    assert d.wait_reachable(before) == 0x00
    status = d.aryz(
        "status", "--server", f"http://{before}", "--token", site.state["token"], *_proxy(site)
    )
    assert status.returncode == 0, status.stderr
    assert "status: under_review" in status.stdout
