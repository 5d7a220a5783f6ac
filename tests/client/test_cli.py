"""``aryz submit`` and ``aryz status`` against a real server: scriptable, sealed locally,
resuming an upload that a dropped connection cut off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import derive
from service.field.client import fetch_info, make_client, seal_file, upload_item
from tests.server import ServerProcess
from tests.support import demo_trust, opened_items_at, run_aryz, trust_args

pytestmark = pytest.mark.slow


def test_submit_then_status(
    tmp_path: Path, database_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    message = tmp_path / "message.txt"
    message.write_text("Сына избили в СИЗО-1.", encoding="utf-8")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8" + bytes(range(256)) * 9000)
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        sent = run_aryz(
            "submit",
            "--server",
            server.url,
            "--country",
            "KZ",
            "--message-file",
            str(message),
            "--file",
            str(photo),
            *trust_args(registry_dir),
            env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
        )
        assert sent.returncode == 0, sent.stderr
        token = sent.stdout.strip().splitlines()[-1]
        assert len(token) == 24
        assert token.isdigit()
        checked = run_aryz("status", "--server", server.url, "--token", token)
        assert checked.returncode == 0, checked.stderr
        assert "status: received" in checked.stdout
        assert "items received: 2" in checked.stdout
        typo = run_aryz(
            "status", "--server", server.url, "--token", token[:-1] + str((int(token[-1]) + 1) % 10)
        )
        assert typo.returncode == 2
        assert "typo" in typo.stderr
        assert token[:8] not in typo.stderr

    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    assert "Сына избили в СИЗО-1." in items[0][1].decode()
    assert (items[1][0]["name"], items[1][1]) == ("photo.jpg", photo.read_bytes())


class FlakyTransport(httpx.HTTPTransport):
    """Cuts the first PATCH short (as a dropped circuit would) and fails the second."""

    def __init__(self, cut_at: int) -> None:
        super().__init__()
        self.cut_at = cut_at
        self.patches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == 1:
                body = request.read()[: self.cut_at]
                request = httpx.Request(
                    "PATCH",
                    request.url,
                    content=body,
                    headers={
                        **{
                            k: v
                            for k, v in request.headers.items()
                            if k.lower() != "content-length"
                        },
                    },
                )
            elif self.patches == 2:
                raise httpx.ConnectError("circuit dropped")
        return super().handle_request(request)


def test_upload_resumes_where_it_stopped(
    tmp_path: Path, database_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    payload = bytes(range(256)) * 16_000  # ~4 MB
    source = tmp_path / "video.bin"
    source.write_bytes(payload)
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        with make_client(server.url, None) as plain:
            from service.field.client import submit

            token = submit(
                plain,
                country="KG",
                coalition_id=None,
                message="m",
                files=[],
                trust=demo_trust(registry_dir),
            )
            info = fetch_info(plain)
        secrets = derive(token, info.limits)
        coalition = info.coalition("KG", None)
        sealed = seal_file(source, coalition, secrets, tmp_path)
        transport = FlakyTransport(cut_at=1_500_000)
        with httpx.Client(base_url=server.url, transport=transport, trust_env=False) as flaky:
            upload_item(flaky, secrets.lookup_id, sealed, sleep=lambda _s: None)
        assert transport.patches == 3
    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    files = [b for m, b in items if m["type"] == "file"]
    assert files == [payload]


def test_cli_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    missing = run_aryz(
        "submit",
        "--server",
        "http://127.0.0.1:9",
        "--country",
        "KZ",
        "--message-file",
        str(tmp_path / "nope.txt"),
    )
    assert missing.returncode == 2
    assert "cannot be read" in missing.stderr
    assert "Traceback" not in missing.stderr
    unreachable = tmp_path / "m.txt"
    unreachable.write_text("x")
    down = run_aryz("status", "--server", "http://127.0.0.1:9", "--token", "1234")
    assert down.returncode == 2
    assert "24 digits" in down.stderr


def test_file_over_the_server_cap_is_refused_before_anything_is_sent(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    message = tmp_path / "m.txt"
    message.write_text("m")
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    server.env["ARYZ_MAX_SUBMISSION_BYTES"] = "4096"
    with server:
        sent = run_aryz(
            "submit",
            "--server",
            server.url,
            "--country",
            "KZ",
            "--message-file",
            str(message),
            "--file",
            str(big),
            *trust_args(registry_dir),
            env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
        )
    assert sent.returncode == 2
    assert "larger than this server accepts" in sent.stderr
    assert opened_items_at(tmp_path, database_url, registry_dir, {}) == []
