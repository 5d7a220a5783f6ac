"""The cage (audit F-06): hostile files are parsed in a separate process with no key, no
store, no network and hard limits; whatever happens there, the desk says "no safe copy"
and stays up, within its memory bound."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.desk.casework.desk import Desk
from service.desk.errors import StripError
from service.desk.inbox import sandbox
from service.desk.inbox.strip import MAX_PAGES, stripped
from tests.desk.test_desk_strip import attach

pytest.importorskip("PIL.Image", reason="Pillow (desk extra) is not installed")
pikepdf = pytest.importorskip("pikepdf", reason="pikepdf (desk extra) is not installed")
pytest.importorskip("pypdfium2", reason="pypdfium2 (desk extra) is not installed")

MiB = 1 << 20
# The desk's own bound while a file is made safe (issue 12: 256 MiB above idle).
DESK_BOUND = 256 * MiB


def png_bomb(side: int) -> bytes:
    """A 1-bit-deep palette PNG of side × side pixels, all zero: a few kB on disk,
    ``side²`` bytes once decoded (13,375² is 179 MP, just under Pillow's own hard limit)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 3, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def noise_png(side: int) -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def plain_png(side: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


MALFORMED_PDFS = [
    b"%PDF-1.7\n" + bytes(range(256)) * 40,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 1 0 R /Kids [1 0 R] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF",
]


def _desk_side(data: bytes, tmp_path: Path) -> dict[str, object]:
    """Make a safe copy of ``data`` from a fresh desk-side interpreter; its peak memory."""
    source = tmp_path / "hostile.bin"
    source.write_bytes(data)
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
    script = (
        "import json, resource, sys\n"
        "from service.desk.errors import StripError\n"
        "from service.desk.inbox.strip import stripped\n"
        "def status(field):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(field + ':'):\n"
        "            return int(line.split()[1]) * 1024\n"
        "idle = status('VmRSS')\n"
        f"data = open({str(source)!r}, 'rb').read()\n"
        "try:\n"
        "    outcome = 'copy %d bytes' % len(stripped(data) or b'')\n"
        "except StripError:\n"
        "    outcome = 'no safe copy'\n"
        "peak = status('VmHWM')\n"
        "cage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'outcome': outcome, 'idle': idle, 'peak': peak, 'cage': cage}))\n"
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", script], capture_output=True, timeout=300, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_pixel_bomb_ends_in_no_safe_copy_and_the_desk_stays_small(tmp_path: Path) -> None:
    bomb = png_bomb(13_375)
    assert len(bomb) < 300_000
    result = _desk_side(bomb, tmp_path)
    assert result["outcome"] == "no safe copy"
    peak, idle = result["peak"], result["idle"]
    assert isinstance(peak, int)
    assert isinstance(idle, int)
    assert peak - idle < DESK_BOUND
    assert peak < DESK_BOUND + 128 * MiB


@pytest.mark.parametrize("number", range(len(MALFORMED_PDFS)))
def test_a_malformed_pdf_ends_in_no_safe_copy(number: int, tmp_path: Path) -> None:
    result = _desk_side(MALFORMED_PDFS[number], tmp_path)
    assert result["outcome"] == "no safe copy"
    peak = result["peak"]
    assert isinstance(peak, int)
    assert peak < DESK_BOUND + 128 * MiB


def test_a_pdf_with_too_many_pages_has_no_safe_copy() -> None:
    pdf = pikepdf.new()
    for _ in range(MAX_PAGES + 1):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(StripError):
        stripped(out.getvalue())


def test_a_cut_pdf_is_either_refused_or_redrawn_never_a_crash() -> None:
    from tests.desk.test_desk_safe_copies import hostile_pdf

    whole = hostile_pdf()
    for cut in (len(whole) // 3, len(whole) // 2, len(whole) - 40):
        try:
            copy = stripped(whole[:cut])
        except StripError:
            continue
        assert copy is not None
        assert copy.startswith(b"%PDF-1.4")


def test_the_cage_holds_nothing_and_reaches_nothing() -> None:
    seen = json.loads(sandbox.run([sandbox.PROBE], len(sandbox.PROBE)))
    limits = sandbox.LIMITS
    assert seen["limits"] == {
        "RLIMIT_AS": [limits.memory, limits.memory],
        "RLIMIT_CPU": [limits.cpu_seconds, limits.cpu_seconds],
        "RLIMIT_FSIZE": [limits.output, limits.output],
        "RLIMIT_NOFILE": [limits.open_files, limits.open_files],
        "RLIMIT_CORE": [0, 0],
    }
    # stdin, stdout, stderr, and the one listing /proc/self/fd: no store, no key file.
    assert seen["fds"] == [0, 1, 2, 3]
    # No passphrase or anything else from the desk's environment (Python may add LC_CTYPE).
    assert set(seen["environ"]) <= {"LC_CTYPE"}
    assert seen["cwd_entries"] == []
    # Not one module that can hold or open a key or the store.
    assert all(
        m
        in {
            "service",
            "service.desk",
            "service.desk.errors",
            "service.desk.inbox",
            "service.desk.inbox.rebuild",
            "service.common",
            "service.common.errors",
        }  # fmt: skip
        for m in seen["modules"]
    )
    if os.geteuid() == 0 or seen["net"] == sandbox.NET_NAMESPACE:
        assert seen["net"] == sandbox.NET_NAMESPACE
        assert seen["interfaces"] == ["lo"]  # a new namespace: loopback only, and down
    else:  # pragma: no cover - a kernel without unprivileged user namespaces
        pytest.skip("no network namespace for an unprivileged user here: see SECURITY.md")


def test_the_memory_limit_stops_a_large_decode() -> None:
    big = plain_png(4000)  # 16 MP: 48 MB as RGB, several copies while flattening
    assert stripped(big) is not None
    small = sandbox.Limits(memory=160 * MiB)
    with pytest.raises(StripError):
        sandbox.run([big], len(big), small)


def test_the_output_limit_stops_a_large_copy() -> None:
    picture = noise_png(600)
    assert len(stripped(picture) or b"") > 100_000
    with pytest.raises(StripError):
        sandbox.run([picture], len(picture), sandbox.Limits(output=50_000))


def test_a_file_larger_than_the_input_limit_is_not_even_sent() -> None:
    def never() -> Iterator[bytes]:
        raise AssertionError("nothing may be read")
        yield b""  # pragma: no cover

    with pytest.raises(StripError):
        sandbox.run(never(), sandbox.LIMITS.input + 1)


def test_a_cage_that_takes_too_long_is_killed() -> None:
    release = threading.Event()

    def stalled() -> Iterator[bytes]:
        yield b"\x89PNG\r\n\x1a\n"
        release.wait(60)  # the cage waits for the rest of the file, past its deadline

    try:
        with pytest.raises(StripError):
            sandbox.run(stalled(), 1000, sandbox.Limits(wall_seconds=0.5))
    finally:
        release.set()


def test_the_desk_survives_a_hostile_file_and_the_original_stays(
    desk: Desk, tmp_path: Path
) -> None:
    bomb = png_bomb(13_375)
    ref, _ = attach(desk, tmp_path, "bomb.png", bomb)
    with pytest.raises(StripError):
        desk.stripped_copy(ref)
    size, pieces = desk.attachment_pieces(ref)
    assert size == len(bomb)
    assert b"".join(pieces) == bomb
    assert desk.list_cases()  # the desk goes on
