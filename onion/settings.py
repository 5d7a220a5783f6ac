"""The slice of the settings that tor handling needs (``ARYZ_`` variables): where the
onion keys live and how to reach tor. The server's ``Settings`` extends it, so the two
never disagree; ``aryz onion …`` reads only this slice."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARYZ_", extra="ignore", frozen=True)

    # Onion keys in tor's HiddenServiceDir layout (intake/, staff/). Outside data_dir so
    # that no copy or backup of the data or database ever holds them (SECURITY.md
    # guarantee 10).
    onion_keys_dir: Path = Path("/var/lib/aryz-onion")
    # Attach to a running tor: "unix:/run/tor/control" or "127.0.0.1:9051" (cookie auth).
    tor_control: str | None = None
    tor_control_password: SecretStr | None = None
    # Or let aryz start its own tor with this DataDirectory (and extra torrc lines).
    tor_data_dir: Path | None = None
