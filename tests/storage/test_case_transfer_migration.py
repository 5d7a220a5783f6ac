"""Migration 0007 (a case passed to another coalition: ``cases.transfer_*``,
``replies.coalition_id``) goes up over existing cases and replies, and down again, on
SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from service.server.storage import migrate
from service.server.storage.db import make_engine

TRANSFER = {"transfer_from", "transfer_seq", "transfer_signature", "transfer_content"}


def _columns(engine: object, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_0007_keeps_cases_and_replies_and_goes_down(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.downgrade(database_url, "0006")
    assert not TRANSFER & _columns(engine, "cases")
    assert "coalition_id" not in _columns(engine, "replies")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (ref, coalition_id, lookup_key, kdf, reply_public_key,"
                " status, status_seq, created_week, activity_week) VALUES (:ref,"
                " 'kz-coalition', :key, 'argon2id13:1:8192', :reply, 'received', 1,"
                " '2026-W49', '2026-W49')"
            ),
            {"ref": b"r" * 16, "key": b"k" * 32, "reply": b"p" * 32},
        )
        case_id = connection.execute(text("SELECT id FROM cases")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO replies (case_id, seq, data, created_week)"
                " VALUES (:case, 1, :data, '2026-W49')"
            ),
            {"case": case_id, "data": b"sealed"},
        )
    migrate.upgrade(database_url)
    assert _columns(engine, "cases") >= TRANSFER
    with engine.connect() as connection:
        # Existing cases were never passed on; existing replies are their coalition's.
        row = connection.execute(
            text("SELECT coalition_id, transfer_from, transfer_signature FROM cases")
        ).one()
        assert tuple(row) == ("kz-coalition", None, None)
        replies = connection.execute(text("SELECT coalition_id, data FROM replies")).all()
        assert [tuple(r) for r in replies] == [(None, b"sealed")]
    migrate.downgrade(database_url, "0006")
    assert not TRANSFER & _columns(engine, "cases")
    with engine.connect() as connection:
        # Nothing else lost on the way down (a table copy on SQLite would cascade).
        assert connection.execute(text("SELECT data FROM replies")).scalars().all() == [b"sealed"]
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar() == 1
    migrate.upgrade(database_url)
    engine.dispose()
