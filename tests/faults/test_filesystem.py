"""The data directory's filesystem failing under a real ``aryz serve`` (SQLite): full,
fsync/write returning EIO, read-only. Each time the request fails with the fixed storage
error, nothing is acknowledged or visible, the items stored before stay intact, and the
server serves again once the fault is gone.

The data directory is a small tmpfs mounted for the test (root only; skipped elsewhere:
a test machine's mount permission is not one of the components CI requires). I/O errors
come from a real mechanism, not a patch: an LD_PRELOAD shim, compiled here with gcc, that
makes fsync, fdatasync and pwrite fail with EIO while a flag file exists.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.common.crypto.keys import BoxKeyPair
from service.common.errors import StorageError
from service.server.app import DATABASE_UNAVAILABLE
from tests.faults.harness import integrity_problems
from tests.server import ServerProcess
from tests.support import add_files, file_report, opened_items_at

pytestmark = pytest.mark.slow
STORAGE_PAGE = "could not be stored safely, so nothing was saved"

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static int armed(void) {
    const char *flag = getenv("ARYZ_TEST_EIO_FLAG");
    return flag != NULL && access(flag, F_OK) == 0;
}
#define FAIL_WHEN_ARMED(ret, name, params, args)             \
    ret name params {                                         \
        if (armed()) { errno = EIO; return -1; }              \
        ret (*real) params = (ret (*) params)dlsym(RTLD_NEXT, #name); \
        return real args;                                     \
    }
FAIL_WHEN_ARMED(int, fsync, (int fd), (fd))
FAIL_WHEN_ARMED(int, fdatasync, (int fd), (fd))
FAIL_WHEN_ARMED(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
FAIL_WHEN_ARMED(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _server(disk: Path, sqlite_template: Path, registry_dir: Path) -> tuple[ServerProcess, str]:
    """A server whose database and data directory are on ``disk``; its logs are not."""
    database = disk / "aryz.sqlite3"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    logs = disk.parent / "logs"
    logs.mkdir()
    server = ServerProcess(logs, url, registry_dir / "registry.toml")
    server.data_dir = disk / "data"
    server.data_dir.mkdir()
    server.env.update(ARYZ_DATA_DIR=str(server.data_dir), TMPDIR=str(server.data_dir))
    # The storage bounds would refuse these uploads up front on 12 MiB
    # (tests/storage/test_quota.py): pointed at another disk, they let the test see this
    # one fail anyway, as it can when something else fills it.
    server.env.update(ARYZ_STORAGE_DIR=str(logs))
    return server, url


def _refused(answer: httpx.Response) -> bool:
    return answer.status_code == StorageError.http_status and STORAGE_PAGE in answer.text


def _files(
    server: ServerProcess, url: str, registry_dir: Path, keys: dict[str, BoxKeyPair]
) -> dict[str, bytes]:
    opened = opened_items_at(server.data_dir, url, registry_dir, keys)
    return {str(m["name"]): body for m, body in opened if m.get("type") == "file"}


def test_disk_full_refuses_loudly_and_recovers(
    small_disk: Path, sqlite_template: Path, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    server, url = _server(small_disk, sqlite_template, registry_dir)
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="before the disk filled")
        assert add_files(web, token, [("early.bin", b"e" * 300_000)]).status_code == 200
        filler = small_disk / "filler"
        subprocess.run(["fallocate", "-l", "9M", str(filler)], check=True)
        big = bytes(range(256)) * 16_000  # 4 MB: more than is left
        assert _refused(add_files(web, token, [("too-big.bin", big)]))
        assert integrity_problems(url) == []
        filler.unlink()  # space freed: the same server takes files again
        assert add_files(web, token, [("after.bin", big)]).status_code == 200
    assert _files(server, url, registry_dir, desk_keys) == {
        "early.bin": b"e" * 300_000,
        "after.bin": big,
    }


def test_fsync_and_write_errors_acknowledge_nothing(
    small_disk: Path,
    tmp_path: Path,
    sqlite_template: Path,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the EIO shim")
    source, shim = tmp_path / "eio.c", tmp_path / "eio.so"
    source.write_text(SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(shim), str(source), "-ldl"], check=True)
    server, url = _server(small_disk, sqlite_template, registry_dir)
    flag = tmp_path / "eio.flag"
    server.env.update(LD_PRELOAD=str(shim), ARYZ_TEST_EIO_FLAG=str(flag))
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="before the errors")
        assert add_files(web, token, [("early.bin", b"e" * 2_500_000)]).status_code == 200
        flag.touch()
        assert _refused(add_files(web, token, [("small.bin", b"s" * 1000)]))
        assert _refused(add_files(web, token, [("large.bin", b"l" * 2_500_000)]))
        flag.unlink()
        status = web.post("/en/status", data={"token": token})
        assert "holds 2 sealed items." in status.text  # the answers and early.bin only
        assert add_files(web, token, [("after.bin", b"a" * 1000)]).status_code == 200
    assert integrity_problems(url) == []
    assert _files(server, url, registry_dir, desk_keys) == {
        "early.bin": b"e" * 2_500_000,
        "after.bin": b"a" * 1000,
    }


def test_read_only_filesystem_is_refused_loudly(
    small_disk: Path, sqlite_template: Path, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    server, url = _server(small_disk, sqlite_template, registry_dir)
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="before read-only")
        assert add_files(web, token, [("early.bin", b"e" * 1000)]).status_code == 200
    # Linux refuses to remount read-only while SQLite holds its files open for writing,
    # so the filesystem goes read-only between two runs of the server, as after an
    # error remount (errors=remount-ro) and a restart.
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        # SQLite in WAL mode cannot even open the database read-only without its -shm
        # file: the server refuses to start, with one fixed sentence and no traceback.
        with pytest.raises(RuntimeError, match="server exited"):
            server.start()
        said = server.stderr.read_text()
        assert DATABASE_UNAVAILABLE in said
        assert "Traceback" not in said
        assert str(small_disk) not in said
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        assert web.post("/en/status", data={"token": token}).status_code == 200
    assert integrity_problems(url) == []
    assert _files(server, url, registry_dir, desk_keys) == {"early.bin": b"e" * 1000}
