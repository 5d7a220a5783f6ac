"""Storage bounds that identify nobody (attack review F4): per case, in total, and a
free-space reserve, tested on a real, small tmpfs where this machine allows mounting one
(root), and through the settings everywhere."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.envelope import seal
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import TokenSecrets
from service.server.app import build_runtime, create_app
from service.server.deps import Runtime
from service.server.models import Item
from service.server.storage.quota import free_bytes
from tests.conftest import fresh_database, make_settings
from tests.support import (
    add_files,
    api_case,
    api_recipients,
    count,
    file_report,
    opened_items,
)

MIB = 1024 * 1024
KG = "kg-coalition"


def _declare(client: TestClient, secrets: TokenSecrets, size: int) -> object:
    return client.post("/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": size})


def _upload(client: TestClient, secrets: TokenSecrets, plaintext: bytes) -> int:
    """Declare and send one sealed file; returns the status of the declaration."""
    sealed = seal(
        encode_payload_prefix({"type": "file", "name": "f"}) + plaintext, api_recipients(client)
    )
    started = _declare(client, secrets, len(sealed))
    status: int = started.status_code  # type: ignore[attr-defined]
    if status != 201:
        return status
    upload = started.json()["upload"]  # type: ignore[attr-defined]
    done = client.patch(
        f"/api/v1/uploads/{upload}",
        content=sealed,
        headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert done.json()["complete"] is True
    return status


def _refused(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "3600"  # type: ignore[attr-defined]
    assert response.json()["error"] == "storage_full"  # type: ignore[attr-defined]


def _client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime=runtime), raise_server_exceptions=False)


@pytest.fixture
def bounded(tmp_path: Path, database_url: str, registry_dir: Path) -> Iterator[Runtime]:
    runtime = build_runtime(
        make_settings(
            tmp_path,
            database_url,
            registry_dir,
            max_case_bytes=MIB,
            max_total_bytes=3 * MIB,
            min_free_bytes=0,
        )
    )
    yield runtime
    runtime.engine.dispose()


def test_one_case_cannot_declare_more_than_its_bound(bounded: Runtime) -> None:
    # Attack F4: one case accepted 40 x 500 MiB of declared uploads.
    with _client(bounded) as client:
        case = api_case(client)
        assert _declare(client, case, 400_000).status_code == 201  # type: ignore[attr-defined]
        assert _declare(client, case, 400_000).status_code == 201  # type: ignore[attr-defined]
        _refused(_declare(client, case, 400_000))
        # The bound is the case's, not anyone else's.
        other = api_case(client)
        assert _declare(client, other, 400_000).status_code == 201  # type: ignore[attr-defined]


def test_all_cases_together_stay_within_the_total(bounded: Runtime) -> None:
    with _client(bounded) as client:
        for _ in range(3):
            assert _upload(client, api_case(client), os.urandom(900_000)) == 201
        _refused(_declare(client, api_case(client), 900_000))


def test_declarations_alone_hold_no_room_from_anyone_else(bounded: Runtime) -> None:
    # Declaring costs nothing on the API: if declared bytes counted against the total or
    # the disk, declaring alone could shut the intake for everyone.
    with _client(bounded) as client:
        for _ in range(10):  # 9 MB declared, three times the total
            assert _declare(client, api_case(client), 900_000).status_code == 201  # type: ignore[attr-defined]
        assert _upload(client, api_case(client), os.urandom(900_000)) == 201


def test_a_resumable_upload_waits_for_room_and_keeps_its_offset(bounded: Runtime) -> None:
    with _client(bounded) as client:
        for _ in range(2):
            assert _upload(client, api_case(client), os.urandom(900_000)) == 201
        late = api_case(client)
        sealed = seal(
            encode_payload_prefix({"type": "file"}) + os.urandom(900_000),
            api_recipients(client),
        )
        upload = _declare(client, late, len(sealed)).json()["upload"]  # type: ignore[attr-defined]
        first = client.patch(
            f"/api/v1/uploads/{upload}",
            content=sealed[:500_000],
            headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert first.json()["offset"] == 500_000
        # Meanwhile the others fill the total: the rest must wait, and nothing is lost.
        assert _upload(client, api_case(client), os.urandom(600_000)) == 201
        rest = client.patch(
            f"/api/v1/uploads/{upload}",
            content=sealed[500_000:],
            headers={
                "Upload-Offset": "500000",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        _refused(rest)
        assert client.get(f"/api/v1/uploads/{upload}").json()["offset"] == 500_000
    # A courier collects the first items: the upload resumes where it stopped.
    with bounded.sessions.begin() as session:
        session.query(Item).filter(Item.state == "complete").update({"state": "acknowledged"})
    with _client(bounded) as client:
        done = client.patch(
            f"/api/v1/uploads/{upload}",
            content=sealed[500_000:],
            headers={
                "Upload-Offset": "500000",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert done.json()["complete"] is True


def test_collected_items_give_their_room_back(bounded: Runtime) -> None:
    with _client(bounded) as client:
        case = api_case(client)
        assert _upload(client, case, os.urandom(600_000)) == 201
        _refused(_declare(client, case, 600_000))
    # The coalition collected it (an ack deletes the ciphertext, service/server/courier).
    with bounded.sessions.begin() as session:
        session.query(Item).filter(Item.state == "complete").update({"state": "acknowledged"})
    with _client(bounded) as client:
        assert _declare(client, case, 600_000).status_code == 201  # type: ignore[attr-defined]


def test_a_file_form_past_the_case_bound_keeps_what_arrived_and_says_try_later(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    runtime = build_runtime(
        make_settings(
            tmp_path, database_url, registry_dir, max_case_bytes=300_000, min_free_bytes=0
        )
    )
    try:
        with _client(runtime) as client:
            token = file_report(client)
            before = count(runtime, Item, Item.state == "complete")
            files = [("a.bin", b"a" * 200_000), ("b.bin", b"b" * 200_000), ("c.bin", b"c")]
            response = add_files(client, token, files, lang="ru")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "3600"
            assert "не может принять больше файлов" in response.text
            # A form's file is taken while its case is under the bound (its size is known
            # only at its end): a and b were, c was refused before a byte of it was stored.
            assert count(runtime, Item, Item.state == "complete") == before + 2
            assert count(runtime, Item, Item.state == "pending") == 0
    finally:
        runtime.engine.dispose()


# --- A real small disk ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the settings-driven tests above still run")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(disk)], check=True
    )
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_small_disk_refuses_new_uploads_well_before_it_is_full_and_loses_nothing(
    small_disk: Path, sqlite_template: Path, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    (url,) = list(fresh_database("sqlite", small_disk, sqlite_template, None))
    runtime = build_runtime(
        make_settings(
            small_disk,
            url,
            registry_dir,
            min_free_bytes=16 * MIB,
            max_submission_bytes=8 * MIB,
            max_case_bytes=64 * MIB,
        )
    )
    try:
        with _client(runtime) as client:
            case = api_case(client)
            sent: list[bytes] = []
            status = 201
            while status == 201 and len(sent) < 40:
                plaintext = os.urandom(3 * MIB)
                status = _upload(client, case, plaintext)
                if status == 201:
                    sent.append(plaintext)
            assert status == 503
            free = free_bytes(small_disk)
            # Refused with the reserve still there: the disk never filled up.
            assert free >= 8 * MIB
            # A file form is refused up front, from its declared length.
            token = file_report(client)
            form = add_files(client, token, [("big.bin", os.urandom(4 * MIB))])
            assert form.status_code == 503
            # Answers are small and vital: a new case still gets in.
            api_case(client)
        # Every acknowledged upload is whole and opens.
        opened = {body for meta, body in opened_items(runtime, desk_keys) if meta["type"] == "file"}
        assert opened == set(sent)
        assert len(sent) >= 5
    finally:
        runtime.engine.dispose()
