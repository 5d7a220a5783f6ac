"""The cage: submitted files are parsed in a separate, short-lived process.

Decoders of images and PDFs are large C programs (libjpeg-turbo, zlib, Pillow, PDFium);
a hostile file may make one of them take all memory, spin, or — through a memory bug —
run code. The desk process holds every key of the coalition, so none of that parsing
happens in it. :func:`run` starts ``python -I -m service.desk.inbox.sandbox``, a new
interpreter that:

- is given no key, no store, no open file but its three standard streams (the file's
  bytes on stdin, a pipe; the safe copy to stdout, an anonymous in-memory file; stderr
  discarded), an empty environment and an empty private working folder;
- first thing, before reading a byte, cuts its own network (a new, empty network
  namespace when the kernel lets it: as root, or through an unprivileged user namespace)
  and lowers its own limits, soft and hard, so it cannot raise them again
  (:data:`LIMITS`): address space, CPU seconds, size of any file it writes (its output
  included: past the limit the kernel stops it), open files, no core dumps;
- is killed by the desk after :data:`WALL_SECONDS` of wall-clock time.

Whatever happens in the cage — a refused file, a decoder error, a crash, a limit, the
timeout — the desk gets :class:`StripError` ("no safe copy could be made"), never a
crash of its own. The measured figures are in SECURITY.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from service.desk.errors import StripError

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    memory: int = 768 * MiB  # RLIMIT_AS: the whole address space of the cage
    cpu_seconds: int = 60  # RLIMIT_CPU
    output: int = 128 * MiB  # RLIMIT_FSIZE: the safe copy (and any file) at most this
    open_files: int = 16  # RLIMIT_NOFILE
    wall_seconds: float = 120.0  # the desk kills the cage after this
    input: int = 200 * MiB  # larger files are not given to the cage at all


LIMITS = Limits()
_ONE_AT_A_TIME = threading.Lock()
WALL_SECONDS = LIMITS.wall_seconds

# Exit codes of the cage.
OK = 0
REFUSED = 3  # not a safe copy: damaged, hostile or too large
UNEXPECTED = 4

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000

# What the cage reports about its network when probed (tests, SECURITY.md).
NET_NAMESPACE = "net-namespace"
NET_SHARED = "net-shared"
PROBE = b"?probe"


def run(pieces: Iterable[bytes], size: int, limits: Limits = LIMITS) -> bytes:
    """The safe copy of the file whose ``size`` bytes come in ``pieces``.

    Raises :class:`StripError` for any failure in the cage.
    """
    if size > limits.input:
        raise StripError()
    # One cage at a time: a few clicks must not add up several cages' memory.
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="aryz-cage-") as empty:
        output = os.memfd_create("aryz-safe-copy", os.MFD_CLOEXEC)
        try:
            code = _cage(pieces, output, empty, limits)
            if code != OK:
                raise StripError()
            length = os.lseek(output, 0, os.SEEK_END)
            if not 0 < length <= limits.output:
                raise StripError()
            os.lseek(output, 0, os.SEEK_SET)
            with os.fdopen(os.dup(output), "rb") as reader:
                return reader.read(length)
        finally:
            os.close(output)


def _cage(pieces: Iterable[bytes], output: int, folder: str, limits: Limits) -> int:
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-I", "-m", "service.desk.inbox.sandbox", *_arguments(limits)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env={},
            close_fds=True,
        )
    except OSError:
        raise StripError() from None
    assert process.stdin is not None  # noqa: S101 - stdin=PIPE
    failure: list[BaseException] = []
    feeder = threading.Thread(
        target=_feed, args=(pieces, process.stdin, failure), name="aryz-cage-feed", daemon=True
    )
    feeder.start()
    try:
        code = process.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
        code = code if code != OK else UNEXPECTED
    feeder.join(timeout=limits.wall_seconds)
    if failure:
        # The original itself failed (damaged in the store): that is the desk's error.
        raise failure[0]
    return code


def _feed(pieces: Iterable[bytes], pipe: object, failure: list[BaseException]) -> None:
    from typing import IO, cast

    stream = cast("IO[bytes]", pipe)
    try:
        for piece in pieces:
            stream.write(piece)
    except (BrokenPipeError, ValueError, OSError):
        pass  # the cage stopped reading (it ended or was killed): its exit code tells
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
        failure.append(exc)
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _arguments(limits: Limits) -> list[str]:
    return [
        str(limits.memory),
        str(limits.cpu_seconds),
        str(limits.output),
        str(limits.open_files),
        str(limits.input),
    ]


# --- inside the cage ----------------------------------------------------------------


def cut_network() -> str:
    """Move this process into a new, empty network namespace if the kernel allows it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.unshare(_CLONE_NEWNET) == 0:
        return NET_NAMESPACE
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        return NET_NAMESPACE
    return NET_SHARED


def lower_limits(memory: int, cpu: int, output: int, open_files: int) -> None:
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, output),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _probe(net: str) -> dict[str, object]:
    """What the cage sees of itself (for tests and SECURITY.md; never a file's answer,
    since only JPEG, PNG and PDF files are ever sent here by :func:`strip.stripped`)."""
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")
    }
    try:
        interfaces = [name for _index, name in socket.if_nameindex()]
    except OSError:
        interfaces = []
    return {
        "net": net,
        "interfaces": interfaces,
        "limits": limits,
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "environ": sorted(os.environ),
        "cwd_entries": os.listdir("."),
        "modules": sorted(m for m in sys.modules if m.startswith("service")),
    }


def main(argv: list[str]) -> int:
    memory, cpu, output, open_files, most = (int(a, 10) for a in argv)
    net = cut_network()
    lower_limits(memory, cpu, output, open_files)
    data = sys.stdin.buffer.read(most + 1)
    if len(data) > most:
        return REFUSED
    import service.desk.inbox.rebuild as rebuild

    try:
        with os.fdopen(1, "wb", closefd=False) as out:
            if data == PROBE:
                out.write(json.dumps(_probe(net)).encode())
                return OK
            rebuild.render(data, out)
    except MemoryError:
        return REFUSED
    except Exception:  # noqa: BLE001 - every decoder error is "no safe copy"
        return REFUSED
    return OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
