"""A production ``aryz serve`` refuses demo keys and placeholder secrets before it serves
or publishes anything, with a clear message and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_PEPPER
from tests.support import run_aryz


def _production_env(tmp_path: Path, database_url: str, registry_dir: Path) -> dict[str, str]:
    return {
        "ARYZ_MODE": "production",
        "ARYZ_DATA_DIR": str(tmp_path / "data"),
        "ARYZ_DATABASE_URL": database_url,
        "ARYZ_REGISTRY_PATH": str(registry_dir / "registry.toml"),
        "ARYZ_TOKEN_PEPPER": TEST_PEPPER,
        "ARYZ_ONION_KEYS_DIR": str(tmp_path / "onion-keys"),
        # Never reached: start-up is refused before tor is asked anything.
        "ARYZ_TOR_CONTROL": f"unix:{tmp_path / 'no-tor'}",
    }


def test_demo_registry_refused(tmp_path: Path, database_url: str, registry_dir: Path) -> None:
    result = run_aryz(
        "serve",
        "--uds",
        str(tmp_path / "s.sock"),
        env=_production_env(tmp_path, database_url, registry_dir),
    )
    assert result.returncode == 2
    assert "demo" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s.sock").exists()


@pytest.mark.parametrize("pepper", ["", "change-me", "00"])
def test_placeholder_pepper_refused(
    tmp_path: Path, database_url: str, registry_dir: Path, pepper: str
) -> None:
    env = _production_env(tmp_path, database_url, registry_dir) | {"ARYZ_TOKEN_PEPPER": pepper}
    result = run_aryz("serve", "--uds", str(tmp_path / "s.sock"), env=env)
    assert result.returncode == 2
    assert "ARYZ_TOKEN_PEPPER" in result.stderr
    assert "Traceback" not in result.stderr


def test_onion_keys_inside_the_data_dir_refused(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    env = _production_env(tmp_path, database_url, registry_dir)
    env["ARYZ_ONION_KEYS_DIR"] = str(tmp_path / "data" / "onion")
    result = run_aryz("serve", "--uds", str(tmp_path / "s.sock"), env=env)
    assert result.returncode == 2
    assert "ARYZ_ONION_KEYS_DIR" in result.stderr
    assert not (tmp_path / "data" / "onion").exists()  # refused before any key was made
