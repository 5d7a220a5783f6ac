"""``aryz courier pull`` and ``push`` against a real ``aryz serve`` process that runs the
intake and the courier listener side by side: a pull resumed after a cut, a push applied
once and recognised when repeated, the submitter reading the answer with ``aryz status``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.common.contract.credential import credential_json, load_credential
from service.common.crypto.keys import SigningKeyPair, generate_signing_keypair
from service.field.client import make_client, submit
from service.field.courier import pull
from service.server.registry.logic import parse_registry
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    ack,
    bundle_items,
    desk,
    outbox,
    reply,
    sealed_reply,
    status,
)
from tests.server import ServerProcess
from tests.support import demo_trust, run_aryz, trust_args

pytestmark = pytest.mark.slow

KZ = "kz-coalition"
ANSWER = "Ответ организации: мы свяжемся с вашим адвокатом."
PHOTO = bytes(range(256)) * 12_000  # ~3 MB, so a cut lands inside an item


def _pull(server: ServerProcess, credential: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return run_aryz(
        "courier",
        "pull",
        "--server",
        server.courier_url,
        "--credential",
        str(credential),
        "--out",
        str(out),
    )


def _credential(tmp_path: Path, registry_dir: Path, keys: DeskKeys) -> Path:
    """The credential file as the desk's key ceremony writes it."""
    entry = parse_registry((registry_dir / "registry.toml").read_text()).get(keys.coalition)
    assert entry is not None
    pair = SigningKeyPair(verify=entry.couriers[0].verify_key, seed=keys.courier_seed)
    path = tmp_path / f"{keys.coalition}.courier.json"
    path.write_text(credential_json(keys.coalition, pair))
    return path


@pytest.fixture
def server(tmp_path: Path, database_url: str, registry_dir: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml").start()
    try:
        yield process
    finally:
        process.stop()


def _submit(server: ServerProcess, tmp_path: Path) -> str:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    with make_client(server.url, None) as client:
        return submit(
            client,
            country="KZ",
            coalition_id=None,
            message="Избили.",
            files=[photo],
            trust=demo_trust(server.env["ARYZ_REGISTRY_PATH"]),
        )


def test_pull_resume_push_and_status(
    tmp_path: Path, registry_dir: Path, server: ServerProcess
) -> None:
    token = _submit(server, tmp_path)
    keys = desk(registry_dir, KZ)
    credential = _credential(tmp_path, registry_dir, keys)
    out = tmp_path / "kz.bundle"

    # A download cut off half way: the first bytes by hand into the .part file.
    with httpx.Client(base_url=server.courier_url, trust_env=False) as web:
        courier = Courier(web, keys.courier_seed, keys.courier_key_id)
        prepared = courier.prepare()
        whole = courier.fetch(prepared["bundle"]).content
    assert len(whole) == prepared["size"]
    cut = len(whole) // 2
    (tmp_path / "kz.bundle.part").write_bytes(whole[:cut])

    pulled = _pull(server, credential, out)
    assert pulled.returncode == 0, pulled.stderr
    assert f"resumed a cut-off download after {cut} bytes" in pulled.stdout
    assert "2 items" in pulled.stdout
    assert out.read_bytes() == whole
    assert not (tmp_path / "kz.bundle.part").exists()

    # Never overwrite a bundle not yet carried to the desk.
    again = _pull(server, credential, out)
    assert again.returncode == 2
    assert "already exists" in again.stderr

    # The desk answers from what the bundle says, as it would after importing it.
    manifest, _items = bundle_items(out.read_bytes())
    (case,) = manifest.cases
    sealed = sealed_reply(bytes.fromhex(case.reply_public_key), ANSWER)
    records = [
        status(KZ, case.case, 1, "will_contact", key=case.reply_public_key),
        reply(KZ, case.case, 2, sealed, key=case.reply_public_key),
        ack(KZ, case.case, 3, [i.item for i in manifest.items]),
    ]
    outbox_file = tmp_path / "outbox.json"
    outbox_file.write_bytes(outbox(keys, records))
    push = ["courier", "push", "--server", server.courier_url, "--credential", str(credential)]
    pushed = run_aryz(*push, str(outbox_file))
    assert pushed.returncode == 0, pushed.stderr
    assert "applied: 3 records" in pushed.stdout
    repeated = run_aryz(*push, str(outbox_file))
    assert repeated.returncode == 0, repeated.stderr
    assert "already applied" in repeated.stdout

    checked = run_aryz(
        "status",
        "--server",
        server.url,
        "--token",
        token,
        *trust_args(server.env["ARYZ_REGISTRY_PATH"]),
        env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
    )
    assert checked.returncode == 0, checked.stderr
    assert "status: will_contact (signed by the coalition, verified)" in checked.stdout
    assert "items received: 2" in checked.stdout
    assert ANSWER in checked.stdout

    nothing = _pull(server, credential, tmp_path / "next.bundle")
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing new" in nothing.stdout
    assert not (tmp_path / "next.bundle").exists()

    server.stop()
    assert server.process is not None
    assert server.process.returncode == 0  # SIGTERM stops both listeners cleanly
    assert server.stdout.read_text() == ""  # no access log from either listener
    assert token not in server.stderr.read_text()


def test_refusals_are_clear_fixed_errors(
    tmp_path: Path, registry_dir: Path, server: ServerProcess
) -> None:
    keys = desk(registry_dir, KZ)
    credential = _credential(tmp_path, registry_dir, keys)
    stranger = tmp_path / "stranger.json"
    stranger.write_text(credential_json(KZ, generate_signing_keypair()))
    outbox_file = tmp_path / "outbox.json"
    outbox_file.write_bytes(outbox(keys, [status(KZ, "ab" * 16, 1, "closed")]))

    push = ["courier", "push", "--server", server.courier_url, "--credential"]
    refused = run_aryz(*push, str(stranger), str(outbox_file))
    assert refused.returncode == 2
    assert "not authorised" in refused.stderr
    unknown_case = run_aryz(*push, str(credential), str(outbox_file))
    assert unknown_case.returncode == 2
    assert "Nothing was applied" in unknown_case.stderr
    # The public listener has no courier API at all.
    public = run_aryz(
        "courier",
        "pull",
        "--server",
        server.url,
        "--credential",
        str(credential),
        "--out",
        str(tmp_path / "x.bundle"),
    )
    assert public.returncode == 2
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"coalition": KZ, "key_id": "00", "seed": "zz"}))
    bad = _pull(server, broken, tmp_path / "y.bundle")
    assert bad.returncode == 2
    assert "credential" in bad.stderr
    for result in (refused, unknown_case, public, bad):
        assert "Traceback" not in result.stderr


class CuttingTransport(httpx.HTTPTransport):
    """Drops the first bundle download after ``cut_at`` bytes, as a Tor circuit might."""

    def __init__(self, cut_at: int) -> None:
        super().__init__()
        self.cut_at = cut_at
        self.downloads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "GET" and "/bundles/" in request.url.path:
            self.downloads += 1
            if self.downloads == 1:
                response.stream = _Cut(response.stream, self.cut_at)  # type: ignore[arg-type]
        return response


class _Cut(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            if sent + len(chunk) > self.limit:
                yield chunk[: self.limit - sent]
                raise httpx.ReadError("circuit dropped")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


def test_pull_retries_a_dropped_download_from_where_it_stopped(
    tmp_path: Path, registry_dir: Path, server: ServerProcess
) -> None:
    _submit(server, tmp_path)
    keys = desk(registry_dir, KZ)
    credential = load_credential(_credential(tmp_path, registry_dir, keys))
    transport = CuttingTransport(cut_at=1_000_000)
    out = tmp_path / "kz.bundle"
    with httpx.Client(base_url=server.courier_url, transport=transport, trust_env=False) as c:
        pulled = pull(c, credential, out, sleep=lambda _s: None)
    assert transport.downloads == 2
    assert pulled.items == 2
    assert pulled.resumed_from == 1_000_000
    manifest, items = bundle_items(out.read_bytes())
    assert [i.item for i in manifest.items] == [ref for ref, _ in items]
