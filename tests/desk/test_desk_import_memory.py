"""Import streams: the Python memory an import takes does not grow with the attachment
(issue 12 item 4). On e75117f the item was read whole from the bundle (and again on
quarantine), so the peak was at least the attachment's size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from service.common.crypto.envelope import seal_stream
from service.common.crypto.payload import encode_payload_prefix
from service.desk.casework.desk import Desk
from tests.desk.helpers import FakeCase, Sealed, bundle_bytes, recipients

SIZE = 48 << 20
PIECE = 1 << 20


def _big_bundle(desk: Desk, path: Path) -> Sealed:
    case = FakeCase()
    meta = {"type": "file", "name": "video.mp4", "created": "2026-W49"}
    meta["case_public_key"] = case.public_hex
    pieces = [encode_payload_prefix(meta)] + [
        bytes([n % 251]) * PIECE for n in range(SIZE // PIECE)
    ]
    envelope = b"".join(seal_stream(iter(pieces), recipients(desk)))
    item = Sealed(case, "ab" * 16, envelope)
    path.write_bytes(bundle_bytes([item]))
    return item


def test_importing_a_large_attachment_keeps_python_memory_bounded(
    desk: Desk, tmp_path: Path
) -> None:
    bundle = tmp_path / "big.aryz"
    item = _big_bundle(desk, bundle)
    del item
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        report = desk.import_bundle(bundle)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.imported == 1
    # A few 1 MiB pieces in flight (read, decrypted, buffered, sealed): far below 48 MiB.
    assert peak < 16 << 20, f"peak {peak / (1 << 20):.1f} MiB"


def test_the_desk_folder_holds_a_large_attachment_once(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    # Issue 12: the desk folder grew by twice the file (the write-ahead log kept its size).
    bundle = tmp_path / "big.aryz"
    _big_bundle(desk, bundle)
    before = sum(f.stat().st_size for f in desk_dir.rglob("*") if f.is_file())
    assert desk.import_bundle(bundle).imported == 1
    after = sum(f.stat().st_size for f in desk_dir.rglob("*") if f.is_file())
    grown = after - before
    assert grown < SIZE * 1.25, f"grew by {grown / (1 << 20):.1f} MiB for a 48 MiB file"
