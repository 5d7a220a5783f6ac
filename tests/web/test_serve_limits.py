"""What ``aryz serve`` checks before it listens: the bind address (security audit F-15)
and a connection bound that fits the descriptor limit (attack F2)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.common.errors import ConfigError
from service.server.cli.serve import BACKLOG, FD_RESERVE, check_host, connection_bound, run
from service.server.settings import Mode, Settings
from tests.conftest import TEST_PEPPER

ANY = "0.0.0.0"  # noqa: S104 - the address refused here; nothing is ever bound to it


def _settings(mode: Mode = Mode.PRODUCTION) -> Settings:
    return Settings(
        mode=mode,
        data_dir=Path("/nonexistent"),
        token_pepper=SecretStr(TEST_PEPPER),
        allowed_hosts=["example.onion"],
        tor_control="unix:/run/tor/control",
    )


@pytest.mark.parametrize("host", [ANY, "::", "192.0.2.10", "2001:db8::1", "localhost"])
def test_production_refuses_a_host_that_is_not_loopback(host: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        check_host(_settings(), host, None, force=False)
    # run() refuses before it loads a key, asks tor anything or opens a socket.
    with pytest.raises(ConfigError, match="loopback"):
        run(_settings(), host=host, port=1)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_loopback_hosts_are_fine(host: str) -> None:
    check_host(_settings(), host, None, force=False)


def test_unix_sockets_forced_hosts_and_demo_mode_pass() -> None:
    check_host(_settings(), ANY, "/run/aryz/intake.sock", force=False)
    check_host(_settings(), "192.0.2.10", None, force=True)
    check_host(_settings(Mode.DEMO), ANY, None, force=False)


def test_the_command_line_says_so() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--host", ANY],
        capture_output=True,
        text=True,
        env={"ARYZ_TOKEN_PEPPER": TEST_PEPPER, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_bound_stays_below_the_descriptor_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        bound = connection_bound(100_000, 2)
        now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        # The soft limit was raised to the hard one, and the bound leaves room below it.
        assert now == hard or hard == resource.RLIM_INFINITY
        assert bound <= now - FD_RESERVE - 2 * BACKLOG
        assert connection_bound(100, 2) == 100
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_descriptor_limit_too_low_to_serve_safely_is_refused() -> None:
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))\n"
        "from service.server.cli.serve import connection_bound\n"
        "from service.common.errors import ConfigError\n"
        "try:\n"
        "    connection_bound(1024, 2)\n"
        "except ConfigError:\n"
        "    raise SystemExit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert result.returncode == 3
