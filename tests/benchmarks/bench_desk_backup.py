"""Benchmark: a desk backup of 10,000 cases — size, time to write, verify and restore.

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_desk_backup                 # 10,000 cases
    .venv/bin/python -m tests.benchmarks.bench_desk_backup --file-kib 200  # + a photo each

The desk is filled directly through its store (the same encrypted rows an import writes:
a case record, its answers, one message, history lines, a record waiting for the outbox,
and optionally one attachment per case), so that building it takes seconds, not the
hours of 10,000 imports. Then ``Desk.backup``, ``verify_backup`` and ``restore_backup``
run exactly as ``aryz desk backup``, ``backup verify`` and ``restore`` do. The KDF is the
test minimum (``ARYZ_DESK_KDF=minimum``): an unlock at the real limits adds its 3-7 s
to each command, whatever the desk's size. Figures, not verdicts: nothing is asserted
against a time; what can fail is correctness (the restored desk has every case).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "orchard lantern walrus pebble violin harbor quilt"  # noqa: S105 - a benchmark desk
USB_STICK = 8 * 10**9  # a small USB stick: 8 GB


def _fill(desk_dir: Path, count: int, file_kib: int) -> None:
    import service.desk.casework.cases as cases
    import service.desk.store.keys as keys
    from service.desk.store.database import DB_FILE, Store, context

    keyring = keys.unlock(desk_dir, PASSPHRASE)
    store = Store.open(desk_dir / DB_FILE, keyring.store_key)
    answers = b'{"answers": {"narrative": "' + b"x" * 2000 + b'"}}'
    photo = os.urandom(file_kib * 1024) if file_kib else b""
    with store.transaction() as db:
        for n in range(count):
            case_ref = secrets.token_hex(16)
            record = {
                "ref": case_ref,
                "reply_public_key": secrets.token_hex(32),
                "key_confirmed": True,
                "server_status": "received",
                "server_seq": 0,
                "last_seq": 1,
                "status": "under_review",
                "priority": "normal",
                "assignee": None,
                "tags": ["ivs"],
                "country": "KZ",
                "language": "ru",
                "detained": "yes",
                "received_week": "2026-W47",
                "first_imported_week": "2026-W48",
                "questionnaire": {},
                "counts": {"answers": 1, "file": 1 if file_kib else 0, "message": 1},
            }
            case = cases.insert_case(store, cases.CaseRecord.from_json(record))
            bodies = [("answers", answers), ("message", b"a follow-up message " * 25)]
            if file_kib:
                bodies.append(("file", photo))
            for kind, body in bodies:
                item_ref = secrets.token_hex(16)
                index = store.ref_index("item", item_ref)
                cursor = db.execute(
                    "INSERT INTO items (case_id, ref_index, record, acked) VALUES (?, ?, ?, 1)",
                    (case.id, index, b""),
                )
                item_id = cursor.lastrowid or 0
                chunks = 0
                for start in range(0, max(len(body), 1), 1 << 20):
                    store.write_chunk(item_id, index, chunks, body[start : start + (1 << 20)])
                    chunks += 1
                item = {"ref": item_ref, "case": case_ref, "type": kind, "size": len(body)}
                item |= {"chunks": chunks, "meta": {"type": kind}, "imported": "2026-12-01"}
                db.execute(
                    "UPDATE items SET record = ? WHERE id = ?",
                    (store.seal(item, context("items", index)), item_id),
                )
            cases.add_entry(store, case, "history", event="first_imported")
            cases.add_entry(store, case, "note", text="lawyer informed " * 10)
            status = {"type": "status", "status": "under_review"}
            db.execute(
                "INSERT INTO outgoing (case_id, seq, record) VALUES (?, 1, ?)",
                (case.id, store.seal(status, context("outgoing", case.index, 1))),
            )
            if n % 1000 == 999:
                sys.stderr.write(f"  {n + 1} cases\r")
    store.close()
    sys.stderr.write("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--file-kib", type=int, default=0, help="one attachment per case")
    args = parser.parse_args()
    os.environ["ARYZ_DESK_KDF"] = "minimum"

    from service.desk.casework.desk import init_desk, open_desk
    from service.desk.store.backup import Opening, restore_backup, verify_backup

    with tempfile.TemporaryDirectory(prefix="aryz-bench-backup-") as scratch:
        root = Path(scratch)
        desk_dir, stick = root / "desk", root / "stick"
        stick.mkdir()
        init_desk(desk_dir, "kz-coalition", PASSPHRASE)
        started = time.perf_counter()
        _fill(desk_dir, args.cases, args.file_kib)
        filled = time.perf_counter() - started
        store_size = sum(p.stat().st_size for p in desk_dir.iterdir() if p.is_file())

        with open_desk(desk_dir, PASSPHRASE) as desk:
            started = time.perf_counter()
            report = desk.backup(stick)
            backup_s = time.perf_counter() - started
        started = time.perf_counter()
        verified = verify_backup(report.path, Opening(passphrase=PASSPHRASE))
        verify_s = time.perf_counter() - started
        started = time.perf_counter()
        restored = restore_backup(report.path, root / "restored", Opening(passphrase=PASSPHRASE))
        restore_s = time.perf_counter() - started
        if not verified.cases == restored.cases == args.cases:
            print("FAILED: the restored desk does not hold every case")  # noqa: T201
            return 1

    per_case = report.size / args.cases
    rows = [
        ("cases", f"{args.cases:,}"),
        ("attachment per case", f"{args.file_kib} KiB" if args.file_kib else "none"),
        ("filling the desk (not a user step)", f"{filled:.1f} s"),
        ("desk folder", f"{store_size / 1e6:,.1f} MB"),
        ("backup file", f"{report.size / 1e6:,.1f} MB ({per_case / 1024:.1f} KiB per case)"),
        ("backups of this size on an 8 GB stick", f"{int(USB_STICK // report.size):,}"),
        ("aryz desk backup (after the unlock)", f"{backup_s:.1f} s"),
        ("aryz desk backup verify", f"{verify_s:.1f} s"),
        ("aryz desk restore", f"{restore_s:.1f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    print("Desk backup benchmark (ARYZ_DESK_KDF=minimum; add one unlock per command)")  # noqa: T201
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
