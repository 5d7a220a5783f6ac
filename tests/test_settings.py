"""Settings refuse placeholder secrets and weakened KDF limits outside test/demo mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from service.common.errors import ConfigError
from service.server.settings import Mode, Settings
from tests.conftest import TEST_PEPPER


def _settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "mode": Mode.PRODUCTION,
        "data_dir": Path("/nonexistent"),
        "token_pepper": SecretStr(TEST_PEPPER),
        "allowed_hosts": ["example.onion"],
        "tor_control": "unix:/run/tor/control",
    }
    base.update(values)
    return Settings(**base)  # type: ignore[arg-type]


def test_good_production_settings_pass() -> None:
    _settings().check()


@pytest.mark.parametrize("pepper", ["", "change-me", "secret", "zz" * 32, "ab" * 8])
def test_placeholder_or_short_pepper_refused(pepper: str) -> None:
    with pytest.raises(ConfigError, match="PEPPER"):
        _settings(token_pepper=SecretStr(pepper)).check()


@pytest.mark.parametrize(
    "pepper",
    [
        "00" * 32,  # all zero
        "ab" * 32,  # one byte repeated
        "0123456789abcdef" * 8,  # a short pattern repeated
        TEST_PEPPER[:32] * 2,  # a random half, twice
        b"correct horse battery staple, ok".hex(),  # a passphrase, hex-encoded
    ],
)
@pytest.mark.parametrize("mode", [Mode.PRODUCTION, Mode.DEMO])
def test_pepper_with_too_little_entropy_refused(pepper: str, mode: Mode) -> None:
    # Security audit F-16: the check accepted any 32-64 bytes, all-zero included.
    with pytest.raises(ConfigError, match="PEPPER does not look random"):
        _settings(token_pepper=SecretStr(pepper), mode=mode).check()


def test_random_peppers_pass() -> None:
    import secrets

    for size in (32, 48, 64):
        for _ in range(200):
            _settings(token_pepper=SecretStr(secrets.token_hex(size))).check()


def test_weak_kdf_refused_outside_test_mode() -> None:
    with pytest.raises(ConfigError, match="64 MiB"):
        _settings(kdf_memlimit=8 * 1024 * 1024).check()
    with pytest.raises(ConfigError, match="64 MiB"):
        _settings(mode=Mode.DEMO, kdf_opslimit=1).check()
    _settings(mode=Mode.TEST, kdf_memlimit=8192, kdf_opslimit=1).check()


def test_production_needs_the_onion_host() -> None:
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
        _settings(allowed_hosts=[]).check()


def test_hosts_from_environment_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_ALLOWED_HOSTS", "abc.onion, 127.0.0.1:8080")
    assert Settings().allowed_hosts == ["abc.onion", "127.0.0.1:8080"]


def test_pepper_is_never_shown() -> None:
    settings = _settings()
    assert TEST_PEPPER[:8] not in repr(settings)
    assert TEST_PEPPER[:8] not in str(settings.model_dump())


def test_production_needs_a_way_to_publish_the_onions() -> None:
    with pytest.raises(ConfigError, match="ARYZ_TOR_CONTROL"):
        _settings(tor_control=None).check()
    _settings(tor_control=None, tor_data_dir=Path("/var/lib/aryz-tor")).check()
    # The operator's torrc publishes them (HiddenServiceDir, Onionbalance).
    _settings(tor_control=None, onion_publish=False).check()


@pytest.mark.parametrize("keys", ["/nonexistent", "/nonexistent/onion"])
def test_onion_keys_must_stay_out_of_the_data_dir(keys: str) -> None:
    # A copy or backup of the data directory must never carry the onion keys.
    with pytest.raises(ConfigError, match="ONION_KEYS_DIR"):
        _settings(onion_keys_dir=Path(keys)).check()


def test_the_state_secret_stays_out_of_the_data_dir() -> None:
    # A copy or backup of the data directory must never carry the form-state secret.
    with pytest.raises(ConfigError, match="STATE_SECRET_FILE"):
        _settings(state_secret_file=Path("/nonexistent/state-secret")).check()
    _settings(state_secret_file=Path("/var/lib/aryz-state/state-secret")).check()
