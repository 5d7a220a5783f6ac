"""End to end over real Tor, in a private Tor network on loopback (tests/onion/network.py).

``aryz serve`` publishes the intake onion (proof-of-work on) and the staff onion (client
authorisation) into the network; the ``aryz`` command, as a family's and a courier's
machine would run it, goes through the network's SOCKS port:

* a report with a file is filed to the .onion and its status read back with the token;
* a client without the courier's key cannot even reach the staff onion (tor: 0xF4);
* with the key, the courier pulls the bundle, the desk answers, the courier pushes the
  signed outbox, and the family reads the reply over the intake onion;
* the intake descriptor advertises proof-of-work;
* the urgent lane: a report with the urgent consent, sent through the no-JavaScript form,
  raises ``aryz duty watch``'s alert (its hook gets the record on stdin) within two polls;
  ``aryz duty ack`` shows on the status page, signed; the same report reaches the desk in
  full through the courier; a report without the consent leaves no urgent record;
* after a restart with the same keys the same address answers.

On SQLite and on PostgreSQL (over its unix socket, which reaches into the namespace).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import stem.descriptor.hidden_service
from sqlalchemy.engine import make_url

from onion.errors import TorControlError
from service.common.contract.duty_key import new_duty_key, write_duty_key
from tests.conftest import PG_URL, _pg_exec, require
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.onion.deployment import OnionDeployment
from tests.onion.keyfiles import read_client_private_file
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
    duty_key: Path
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
    duty = new_duty_key("kz-coalition", 1)
    duty_key = workdir / "duty-key.json"
    write_duty_key(duty_key, duty)
    registry = registry_with_desk(workdir / "registry", desk_dir, PASSPHRASE, duty)
    registry = registry / "registry.toml"
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
            yield Site(deployment, desk_dir, workdir, auth_private, duty_key)
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
        control.add_client_auth(service_id, secret, permanent=True)
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


URGENT_ACCOUNT = "Брата забрали ночью, держат в ИВС, не дают адвоката. URGENT-E2E"
URGENT_FIELDS = {
    "narrative.text": URGENT_ACCOUNT,
    "country": "KZ",
    "urgent.shown": "1",
    "urgent.consent": "yes",
    "urgent.region": "KZ-75",
    "urgent.place_type": "ivs",
    "urgent.since": "вчера, 23:00",
    "urgent.needs": ["lawyer", "family"],
}
WATCH_INTERVAL = 5.0


def browser(site: Site, *args: str) -> str:
    """The no-JavaScript browser (tests/onion/browser_form.py) inside the network."""
    d = site.deployment
    result = d.network.run(
        [
            sys.executable,
            "-m",
            "tests.onion.browser_form",
            args[0],
            d.intake_host,
            str(d.client.socks_port),
            args[1],
        ],
        {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_urgent_lane_over_tor(site: Site) -> None:
    d = site.deployment
    staff = f"http://{d.staff_host}"
    credential = str(site.desk_dir / "courier-credential.json")
    duty = ["--key", str(site.duty_key), "--dir", str(site.workdir / "duty")]
    online = ["--server", staff, "--credential", credential, *_proxy(site)]
    # The courier's client authorisation (as the courier test adds it; again here, so
    # this test stands on its own).
    service_id, secret = read_client_private_file(site.auth_private)
    with d.client.control() as control:
        control.add_client_auth(service_id, secret, permanent=True)
    assert d.wait_reachable(d.staff_host) == 0x00
    token = browser(site, "send", json.dumps(URGENT_FIELDS)).split()[0]
    hook_out = site.workdir / "hook-stdin.json"
    # Sent before the watch starts: the alert must come within its two polls.
    watched = d.aryz(
        "duty",
        "watch",
        *duty,
        *online,
        "--interval",
        str(WATCH_INTERVAL),
        "--polls",
        "2",
        "--on-urgent",
        f"tee {hook_out}",
    )
    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.count("URGENT ") == 1, watched.stdout
    record = json.loads(hook_out.read_text(encoding="utf-8"))
    assert record["answers"]["place_type"] == "ivs"
    assert set(record["answers"]) <= {
        "country",
        "region",
        "place_type",
        "place",
        "since",
        "needs",
        "contact",
    }
    assert "URGENT-E2E" not in hook_out.read_text(encoding="utf-8")
    ref = record["ref"]

    acked = d.aryz(
        "duty",
        "ack",
        *duty,
        *online,
        ref[:8],
        "--status",
        "lawyer_told",
        "--answer-by",
        "2026-W53",
    )
    assert acked.returncode == 0, acked.stderr
    page = browser(site, "status", token)
    assert "A lawyer has been told." in page  # shown only when the duty signature checks
    assert "Answer expected by week 2026-W53." in page

    # No consent (the urgent part shown, left alone): no urgent record, the next poll
    # raises nothing. (Answers without the consent are asked about on the write page:
    # tests/courier/test_urgent_lane.py.)
    left_alone = {k: v for k, v in URGENT_FIELDS.items() if not k.startswith("urgent.")}
    browser(site, "send", json.dumps({**left_alone, "urgent.shown": "1"}))
    again = d.aryz("duty", "watch", *duty, *online, "--interval", "5", "--polls", "1")
    assert again.returncode == 0, again.stderr
    assert "URGENT " not in again.stdout
    listed = d.aryz("duty", "list", *duty)
    assert listed.stdout.count("URGENT ") == 1

    # The full case still reaches the desk through the courier.
    bundle = site.workdir / "usb" / "urgent-bundle.aryz"
    bundle.parent.mkdir(exist_ok=True)
    pulled = d.aryz("courier", "pull", *online, "--out", str(bundle))
    assert pulled.returncode == 0, pulled.stderr
    aryz("desk", "import", "--dir", str(site.desk_dir), str(bundle), env=DESK_ENV)
    listing = aryz("desk", "list", "--dir", str(site.desk_dir), env=DESK_ENV)
    cases = [line.split()[0] for line in listing.splitlines()[1:-1] if line.strip()]
    shown = "".join(
        aryz("desk", "show", "--dir", str(site.desk_dir), case, env=DESK_ENV) for case in cases
    )
    assert URGENT_ACCOUNT in shown
    # The desk sees that the urgent lane was used, and what the duty officer got.
    assert "URGENT      the person gave the urgent consent (sent to the duty officer)" in shown
    assert shown.count("the urgent consent") == 1  # the report without consent: none


def test_intake_descriptor_advertises_proof_of_work(site: Site) -> None:
    d = site.deployment
    address = d.intake_host.removesuffix(".onion")
    # Read from the client's descriptor cache, which a NEWNYM empties (wait_reachable sends
    # them; tor may carry one out seconds later for its rate limit): fetch again until the
    # descriptor is there.
    raw = None
    deadline = time.monotonic() + 120
    while raw is None:
        assert d.wait_reachable(d.intake_host) == 0x00
        with d.client.control() as control:
            try:
                raw = control._info(f"hs/client/desc/id/{address}")
            except TorControlError:
                if time.monotonic() > deadline:
                    raise
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
