"""Tor restarted under load: ``aryz serve`` publishes its intake onion through a
light-mode tor (``DisableNetwork 1``, tests/onion/conftest.py); while clients keep filing
status checks and files on loopback, that tor is stopped and started again. The onion
keeper publishes the onion anew on the new tor, and the server never stops answering:
every request during the restart succeeds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from onion.control import ControlEndpoint, OnionSpec
from onion.keys import load_key
from service.server.cli.onions import INTAKE
from tests.onion.conftest import start_light_tor
from tests.onion.test_keeper import _is_published_elsewhere
from tests.server import ServerProcess
from tests.support import add_files, file_report

pytestmark = pytest.mark.slow


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)  # polling tor's control port; bounded by the deadline


def test_tor_restart_under_load(
    tmp_path: Path, short_dir: Path, sqlite_url: str, registry_dir: Path
) -> None:
    tor = start_light_tor(short_dir)
    server = ServerProcess(tmp_path, sqlite_url, registry_dir / "registry.toml")
    server.env.update(
        ARYZ_TOR_CONTROL=f"unix:{tor.control_socket}",
        ARYZ_ONION_KEYS_DIR=str(tmp_path / "onion-keys"),
    )
    endpoint = ControlEndpoint(socket_path=tor.control_socket)
    try:
        with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
            key = load_key(tmp_path / "onion-keys" / INTAKE)
            probe = OnionSpec("probe", key, ((80, "127.0.0.1:9"),))
            assert _is_published_elsewhere(endpoint, probe)  # the server holds the onion
            token = file_report(web, country="KG", narrative="under load")
            answers: list[int] = []
            done = threading.Event()

            def load() -> None:
                with httpx.Client(base_url=server.url, timeout=60, trust_env=False) as own:
                    while not done.is_set():
                        answers.append(own.post("/en/status", data={"token": token}).status_code)
                        answers.append(
                            add_files(own, token, [("f.bin", b"x" * 200_000)]).status_code
                        )

            worker = threading.Thread(target=load)
            worker.start()
            try:
                _wait(lambda: len(answers) >= 4)
                tor.stop()  # the onion goes down with the control connection
                tor = start_light_tor(short_dir)  # same data dir and control socket
                _wait(lambda: _is_published_elsewhere(endpoint, probe))
                served_during = len(answers)
                _wait(lambda: len(answers) >= served_during + 4)
            finally:
                done.set()
                worker.join()
        assert answers
        assert set(answers) == {200}
        said = server.stderr.read_text()
        assert "onion services published again" in said
        assert "Traceback" not in said
    finally:
        tor.stop()
