"""Security brief item 7: no precise timestamp at rest (kept here for the courier fixtures).
After one of everything — a report through the form, one through the API with a file, a
follow-up message and file, a courier pulling a bundle, the desk's outbox (status, reply,
acknowledgement) pushed back, and the status page read — every column of every table, on
SQLite and PostgreSQL, holds no date, time or epoch: only ISO weeks (``2026-W49``).

File modification times of the database and the onion keys are the file system's, not
the application's; they are out of scope here (see SECURITY.md, "Timestamps")."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.types import Date, DateTime, Interval, Time

from service.common.contract.outbox import Record
from service.field.client import submit
from service.server.deps import Runtime
from service.server.models import Base
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    ack,
    case_refs,
    item_refs,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.courier.helpers import outbox as outbox_bytes
from tests.support import add_files, demo_trust, file_report

ISO_WEEK = re.compile(r"\d{4}-W\d{2}")
# A calendar date, a clock time, or an RFC 2822 / HTTP date, anywhere in a text value.
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
DATE_TEXT = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}:\d{{2}}:\d{{2}}|\b\d{{1,2}} ({MONTHS})")
NOW = dt.datetime.now(dt.UTC).timestamp()
# Epochs of the last and next twenty years, in seconds, milliseconds, µs and ns.
EPOCH_RANGES = [(int((NOW - 6.3e8) * f), int((NOW + 6.3e8) * f)) for f in (1, 1e3, 1e6, 1e9)]


def _looks_like_a_time(value: object) -> bool:
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return any(low <= value <= high for low, high in EPOCH_RANGES)
    if isinstance(value, str):
        return bool(DATE_TEXT.search(ISO_WEEK.sub("", value)))
    return False


def _one_of_everything(
    client: TestClient, runtime: Runtime, kz_courier: Courier, kz: DeskKeys, tmp_path: Path
) -> None:
    token = file_report(client, narrative="form")
    assert add_files(client, token, [("a.jpg", b"\xff\xd8photo")]).status_code == 200
    assert (
        client.post("/en/case/message", data={"token": token, "message": "more"}).status_code == 200
    )
    attachment = tmp_path / "api.bin"
    attachment.write_bytes(b"api file")
    submit(
        client,
        country="KZ",
        coalition_id=None,
        message="api",
        files=[attachment],
        trust=demo_trust(str(runtime.settings.registry_path)),
    )
    bundle = kz_courier.prepare()["bundle"]
    assert kz_courier.fetch(bundle).status_code == 200
    case = case_refs(runtime, "kz-coalition")[0]
    records = [
        status("kz-coalition", case, 1, "under_review"),
        reply("kz-coalition", case, 2, sealed_reply(reply_public_key(runtime, case), "answer")),
        ack("kz-coalition", case, 3, item_refs(runtime, case)[:1]),
        # The desk imported the rest: the server keeps them and notes the week.
        Record("imported", "kz-coalition", case, 4, items=tuple(item_refs(runtime, case)[1:])),
    ]
    assert kz_courier.push(outbox_bytes(kz, records)).status_code == 200
    assert client.post("/en/status", data={"token": token}).status_code == 200


def test_no_column_has_a_time_type() -> None:
    timed = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Date | DateTime | Time | Interval)
    ]
    assert timed == []


def test_no_value_at_rest_looks_like_a_date_time_or_epoch(
    client: TestClient, runtime: Runtime, kz_courier: Courier, kz: DeskKeys, tmp_path: Path
) -> None:
    _one_of_everything(client, runtime, kz_courier, kz, tmp_path)
    found: list[str] = []
    weeks = 0
    with runtime.engine.connect() as conn:
        tables = inspect(conn).get_table_names()  # every table, the migrations' own included
        assert len(tables) >= 5
        for table in tables:
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()  # noqa: S608 - names from the schema
            for row in rows:
                for column, value in row.items():
                    weeks += isinstance(value, str) and bool(ISO_WEEK.fullmatch(value))
                    if _looks_like_a_time(value):
                        found.append(f"{table}.{column}={value!r}")
    assert found == []
    assert weeks >= 4  # the scan saw the coarse weeks it is meant to allow


def test_the_scan_would_see_a_precise_time() -> None:
    now = dt.datetime.now(dt.UTC)
    for value in (
        now,
        now.date(),
        now.isoformat(),
        int(now.timestamp()),
        now.timestamp() * 1000,
        "Tue, 01 Dec 2026 08:00:00 GMT",
        f"x {now:%H:%M:%S}",
    ):
        assert _looks_like_a_time(value), value
    allowed: tuple[object, ...] = ("2026-W49", 1, 123456, 6 << 20, b"\x00" * 32, "kz", None)
    for harmless in allowed:
        assert not _looks_like_a_time(harmless), harmless
