"""A case records the token-KDF parameters that made its lookup key (cases.kdf), so the
parameters can change without orphaning it: on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text

from service.common.contract.vocabulary import kdf_id
from service.common.crypto.token import MIN_LIMITS, format_token, generate_token
from service.server.app import build_runtime, create_app
from service.server.deps import Runtime
from service.server.models import Case
from service.server.storage import migrate
from service.server.storage.db import make_engine
from tests.conftest import make_settings
from tests.support import file_report

OLD = kdf_id(MIN_LIMITS.opslimit, MIN_LIMITS.memlimit)
NEW_OPS = MIN_LIMITS.opslimit + 1


def _kdfs(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Case.kdf).order_by(Case.id)))


def test_a_new_case_records_the_parameters_it_was_made_with(
    client: TestClient, runtime: Runtime
) -> None:
    file_report(client)
    assert _kdfs(runtime) == [OLD]


def test_a_case_made_before_the_parameters_changed_is_still_found(
    client: TestClient, runtime: Runtime, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    token = file_report(client)
    changed = make_settings(tmp_path, database_url, registry_dir, kdf_opslimit=NEW_OPS)
    later = build_runtime(changed)
    try:
        with TestClient(create_app(runtime=later), raise_server_exceptions=False) as after:
            # Found, with the reply key of its own parameters: the status page opens.
            page = after.post("/en/status", data={"token": format_token(token)})
            assert page.status_code == 200
            assert "holds 1 sealed item." in page.text
            file_report(after)  # a new case gets the new parameters
            unknown = after.post("/en/status", data={"token": format_token(generate_token())})
            assert "holds 1 sealed item." not in unknown.text
        assert _kdfs(later) == [OLD, kdf_id(NEW_OPS, MIN_LIMITS.memlimit)]
    finally:
        later.engine.dispose()


def test_without_the_older_parameters_the_case_would_be_lost(
    client: TestClient, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    # The test above can fail: forget what a case recorded and the changed KDF misses it.
    token = file_report(client)
    changed = make_settings(tmp_path, database_url, registry_dir, kdf_opslimit=NEW_OPS)
    later = build_runtime(changed)
    try:
        with later.engine.begin() as connection:
            connection.execute(text("UPDATE cases SET kdf = :k"), {"k": kdf_id(NEW_OPS, 8192)})
        with TestClient(create_app(runtime=later), raise_server_exceptions=False) as after:
            page = after.post("/en/status", data={"token": format_token(token)})
            assert "holds 1 sealed item." not in page.text
    finally:
        later.engine.dispose()


def test_the_migration_records_existing_cases_and_goes_down(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.downgrade(database_url, "0005")
    assert "kdf" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (ref, coalition_id, lookup_key, reply_public_key, status,"
                " status_seq, created_week, activity_week)"
                " VALUES (:ref, 'kz-coalition', :key, :reply, 'received', 0, '2026-W49',"
                " '2026-W49')"
            ),
            {"ref": b"r" * 16, "key": b"k" * 32, "reply": b"p" * 32},
        )
    running = kdf_id(2, 16 * 1024 * 1024)
    migrate.upgrade(database_url, existing_kdf=running)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT kdf FROM cases")).scalars().all() == [running]
    column = next(c for c in inspect(engine).get_columns("cases") if c["name"] == "kdf")
    assert column["nullable"] is False
    migrate.downgrade(database_url, "0005")
    assert "kdf" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    migrate.upgrade(database_url)
    engine.dispose()
