"""Run Alembic migrations programmatically (the CLI's ``aryz db upgrade`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str, existing_kdf: str | None = None) -> Config:
    config = Config()
    # Migration 0006 records this as the token-KDF parameters of the cases already there.
    config.attributes["existing_kdf"] = existing_kdf
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser interpolation; escape it so passwords with % survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, existing_kdf: str | None = None) -> None:
    """Migrate to ``revision``; ``existing_kdf`` (``vocabulary.kdf_id``) names the token-KDF
    parameters the server has been running with, for cases made before 0006."""
    command.upgrade(alembic_config(url, existing_kdf), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine, url: str) -> bool:
    """True when the database is at the newest migration; the server refuses otherwise."""
    return current_revision(engine) == head_revision(url)
