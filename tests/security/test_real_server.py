"""What a real ``aryz serve`` process puts on the wire: the ASGI test client cannot see
headers uvicorn itself adds (``Server``, ``Date``), so this asks the real thing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server import ServerProcess

pytestmark = pytest.mark.slow


def test_real_server_sends_no_server_or_date_header(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    with (
        ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server,
        httpx.Client(base_url=server.url, trust_env=False) as web,
    ):
        for response in (
            web.get("/en/"),
            web.get("/en/missing"),
            web.get("/static/aryz.css"),
            web.post("/en/status", data={"token": "1"}),
        ):
            for header in ("server", "date", "etag", "last-modified"):
                assert header not in response.headers
            assert response.headers["referrer-policy"] == "no-referrer"
        refused = web.get("/en/", headers={"Host": "attacker.example"})
        assert refused.status_code == 400
        assert "server" not in refused.headers
        assert "date" not in refused.headers
    assert server.stdout.read_text() == ""  # no access log, nothing printed
