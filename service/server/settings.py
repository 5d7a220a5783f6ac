"""One ``Settings`` object for the whole server, read from ``ARYZ_*`` environment variables.

Outside demo and test mode the server refuses to start with placeholder secrets, with KDF
limits below the floor the security brief sets, or (see ``service.server.registry``) with a
registry that still holds demo keys.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from onion.settings import TorSettings
from service.common.contract.vocabulary import (
    TOKEN_KDF_MEMLIMIT_FLOOR,
    TOKEN_KDF_OPSLIMIT_FLOOR,
)
from service.common.errors import ConfigError

MIB = 1024 * 1024
# SECURITY.md guarantee 4: the token derivation is memory-hard at >= 64 MiB in production.
KDF_MEMLIMIT_FLOOR = TOKEN_KDF_MEMLIMIT_FLOOR
KDF_OPSLIMIT_FLOOR = TOKEN_KDF_OPSLIMIT_FLOOR
_PLACEHOLDERS = {"", "change-me", "changeme", "secret", "placeholder", "demo", "test"}


def _random_enough(pepper: bytes) -> bool:
    """Whether ``pepper`` could have come from a CSPRNG (security audit F-16).

    Not a proof of entropy, a net for the usual mistakes: repeated bytes or a repeated
    block ("00" * 32, "ab" * 32), or a passphrase typed in and hex-encoded (all printable
    ASCII). A random 32-byte value has about 30 distinct bytes; one with fewer than half
    its length distinct, or all printable, turns up by chance less than once in 10^13.
    """
    half = len(pepper) // 2
    if len(set(pepper)) < half or pepper[:half] == pepper[half : 2 * half]:
        return False
    return not all(0x20 <= byte < 0x7F for byte in pepper)


class Mode(StrEnum):
    PRODUCTION = "production"
    DEMO = "demo"  # local demo: generated keys, loopback only
    TEST = "test"  # the test suite: KDF limits may drop to libsodium's minimum


class Settings(TorSettings):
    """Server configuration. Every field maps to ``ARYZ_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ARYZ_", extra="ignore", frozen=True)

    mode: Mode = Mode.PRODUCTION
    data_dir: Path = Path("/var/lib/aryz")
    # Default: SQLite inside data_dir. PostgreSQL: postgresql+psycopg://user@host/db
    database_url: str | None = None
    registry_path: Path | None = None  # default: data_dir / "registry.toml"
    # How often ``aryz serve`` looks for a changed registry or a new file in
    # registry-changes/ beside it (service/server/registry/reload.py); SIGHUP reloads now.
    registry_poll_seconds: float = Field(default=10.0, ge=0.5, le=60)
    # Keys the stored lookup key (service.common.crypto.token.stored_lookup_key). Hex, 32..64 bytes.
    token_pepper: SecretStr = SecretStr("")
    kdf_opslimit: int = KDF_OPSLIMIT_FLOOR
    kdf_memlimit: int = KDF_MEMLIMIT_FLOOR
    # Each derivation holds kdf_memlimit of RAM: this bounds memory, not only CPU.
    kdf_concurrency: int = Field(default=2, ge=1, le=64)
    kdf_max_waiting: int = Field(default=32, ge=0, le=10_000)
    max_submission_bytes: int = Field(default=500 * MIB, ge=1)
    max_answers_bytes: int = Field(default=256 * 1024, ge=1024)
    max_files_per_request: int = Field(default=20, ge=1, le=1000)
    # Storage bounds (service/server/storage/quota.py): what one case may hold until the
    # coalition collects it, what all cases may hold together (unset: only the disk
    # bounds it), and the free space kept on the disk that holds the data, below which
    # new uploads are refused with "busy, try later".
    max_case_bytes: int = Field(default=2048 * MIB, ge=1)
    max_total_bytes: int | None = Field(default=None, ge=1)
    min_free_bytes: int = Field(default=2048 * MIB, ge=0)
    # The directory whose file system holds the stored items: data_dir for SQLite; with
    # PostgreSQL on this machine, its data directory (e.g. /var/lib/postgresql).
    storage_dir: Path | None = None
    # Host header values the app answers to (the .onion name in production).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host values the courier listener answers to: the staff onion (client authorisation),
    # never the public one. Empty refuses every courier request.
    courier_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Unfinished resumable uploads are removed after this many days (they are not
    # acknowledged items; complete items never expire on the server).
    stale_upload_days: int = Field(default=7, ge=1)
    # Global bounds on what the JSON API creates without a server-side derivation (F-16;
    # service/server/cases/limits.py): new API cases per hour and burst (per process), and
    # unfinished uploads on the whole server and in one case.
    api_cases_per_hour: int = Field(default=600, ge=1)
    api_case_burst: int = Field(default=60, ge=1)
    max_pending_uploads: int = Field(default=10_000, ge=1)
    max_pending_per_case: int = Field(default=32, ge=1)
    # Weeks an item the desk imported stays on the server (sealed) when no desk backup is
    # reported to hold it; then it is deleted as if acknowledged (SECURITY.md, "What the
    # server keeps after import"). 0 deletes at the first sweep after import.
    keep_imported_weeks: int = Field(default=8, ge=0, le=104)
    # Seconds without a byte before a request body is cut off (slow-loris, dead circuits).
    # Generous: Tor circuits stall for tens of seconds and people upload on weak networks.
    body_idle_timeout: float = Field(default=120.0, gt=0, le=3600)
    # Seconds a whole small body (every request but an upload: forms, status checks, API
    # JSON, at most ~0.5 MiB) may take, however its bytes trickle in.
    small_body_timeout: float = Field(default=300.0, gt=0, le=3600)
    # Seconds a connection may take to send a complete request head, from when it opens
    # and again after each response; data arriving does not extend it (slow-loris).
    head_timeout: float = Field(default=20.0, gt=0, le=600)
    # Open connections at once, all listeners together; aryz serve lowers it to fit the
    # process's descriptor limit (LimitNOFILE), and past it the longest-idle one goes.
    max_connections: int = Field(default=1024, ge=16, le=1_000_000)

    # The deployment's form-state secret (service/common/crypto/formstate.py): one file,
    # the same on every instance behind Onionbalance, so a report's next step may land on
    # any of them. Unset: each process draws its own and keeps it in memory only.
    # Outside data_dir (never in a backup); 0600; the server rewrites it once a day.
    state_secret_file: Path | None = None

    # --- Tor (onion/): onion_keys_dir, tor_control, tor_control_password and tor_data_dir
    # come from onion.settings.TorSettings; extra torrc lines for a tor aryz starts:
    tor_extra_config: Path | None = None
    # true: aryz serve publishes the onions itself (ADD_ONION). false: the operator's torrc
    # publishes them from the same key directories (HiddenServiceDir, Onionbalance).
    onion_publish: bool = True
    onion_pow: bool = True
    onion_pow_queue_rate: int = Field(default=250, ge=1, le=1_000_000)
    onion_pow_queue_burst: int = Field(default=2500, ge=1, le=10_000_000)
    # Streams one circuit may open; past it tor closes the circuit (a DoS brake).
    onion_max_streams: int = Field(default=32, ge=1, le=65535)

    @field_validator("allowed_hosts", "courier_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # ARYZ_ALLOWED_HOSTS="abc.onion,127.0.0.1:8080": a plain list, not JSON.
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'aryz.sqlite3'}"

    @cached_property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir

    @cached_property
    def resolved_registry_path(self) -> Path:
        return self.registry_path or self.data_dir / "registry.toml"

    @cached_property
    def pepper(self) -> bytes:
        """The token pepper as bytes; ``check()`` has validated it."""
        return bytes.fromhex(self.token_pepper.get_secret_value())

    @property
    def onion_configured(self) -> bool:
        """Whether serve publishes onions (always in production, on request otherwise)."""
        return self.is_production or self.tor_control is not None or self.tor_data_dir is not None

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    def check(self, *, require_hosts: bool = True) -> None:
        """Refuse to run with settings that would weaken a guarantee. Raises ConfigError.

        ``require_hosts=False``: everything but the allowed hosts, which ``aryz serve``
        takes from the onion keys it loads only after this check has passed.
        """
        raw = self.token_pepper.get_secret_value().strip()
        if raw.lower() in _PLACEHOLDERS:
            raise ConfigError("ARYZ_TOKEN_PEPPER is not set (64 hex digits from a CSPRNG).")
        try:
            pepper = bytes.fromhex(raw)
        except ValueError:
            raise ConfigError("ARYZ_TOKEN_PEPPER must be hex.") from None
        if not 32 <= len(pepper) <= 64:
            raise ConfigError("ARYZ_TOKEN_PEPPER must be 32 to 64 bytes (64-128 hex digits).")
        if self.mode is not Mode.TEST and not _random_enough(pepper):
            raise ConfigError(
                "ARYZ_TOKEN_PEPPER does not look random: make it with a CSPRNG "
                "(python3 -c 'import secrets; print(secrets.token_hex(32))')."
            )
        if self.mode is not Mode.TEST and (
            self.kdf_memlimit < KDF_MEMLIMIT_FLOOR or self.kdf_opslimit < KDF_OPSLIMIT_FLOOR
        ):
            raise ConfigError("The token KDF limits are below the 64 MiB / 3 passes floor.")
        if self.is_production and require_hosts and not self.allowed_hosts:
            raise ConfigError("ARYZ_ALLOWED_HOSTS must name the onion address in production.")
        self._check_state_secret()
        if self.is_production:
            self._check_onion()
        if self.is_production and set(self.allowed_hosts) & set(self.courier_allowed_hosts):
            # The courier API belongs on the staff onion with client authorisation only.
            raise ConfigError("ARYZ_COURIER_ALLOWED_HOSTS must not name the public onion.")

    def _check_state_secret(self) -> None:
        if self.state_secret_file is None:
            return
        secret = self.state_secret_file.resolve()
        if secret.is_relative_to(self.data_dir.resolve()):
            raise ConfigError("ARYZ_STATE_SECRET_FILE must lie outside ARYZ_DATA_DIR (backups).")

    def _check_onion(self) -> None:
        keys = self.onion_keys_dir.resolve()
        data = self.data_dir.resolve()
        if keys == data or keys.is_relative_to(data):
            raise ConfigError("ARYZ_ONION_KEYS_DIR must lie outside ARYZ_DATA_DIR (backups).")
        if self.onion_publish and self.tor_control is None and self.tor_data_dir is None:
            raise ConfigError(
                "Set ARYZ_TOR_CONTROL (or ARYZ_TOR_DATA_DIR) so the onions are published, "
                "or ARYZ_ONION_PUBLISH=false if the torrc publishes them."
            )
