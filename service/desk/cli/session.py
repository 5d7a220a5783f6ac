"""Unlock once: a session agent holds one desk's keys for one terminal, for a while.

``aryz desk unlock --dir DESK`` unlocks the desk (one Argon2id derivation) and starts a
small agent process that keeps the unwrapped keys in its memory and hands them to the
``aryz desk …`` commands of the same terminal over a unix socket. Twenty commands then
cost one unlock, not twenty. The agent ends — and the keys with it — at the first of:

- ``aryz desk lock --dir DESK``;
- no command for ``--idle-minutes`` (default 15);
- ``--max-hours`` after the unlock (default 8), however busy;
- the terminal's session ending (the window closed, the SSH link dropped, logout): the
  agent checks every two seconds whether the session's leader still runs;
- the desk's key file changing under it (a rotation, a staff change): commands then
  refuse the session's keys and ask for the passphrase;
- SIGHUP, SIGTERM or SIGINT sent to it.

Who may ask: the socket lives in a private runtime folder (``$XDG_RUNTIME_DIR/aryz`` or
``/tmp/aryz-UID``, mode 0700, owned by the user, checked before use), named after the
terminal's session id and the desk folder. On every connection the agent reads the
peer's credentials from the kernel (``SO_PEERCRED``) and answers only a process of the
same user **in the same session** (``getsid(peer) == the session it was started for``):
another terminal, another user's process or a process started outside this session gets
nothing. The session id is the kernel's, so a process cannot claim another's.

What it does not protect against (SECURITY.md, "Unlock once"): anyone who can act as the
same user in that terminal session — the person at the unlocked laptop, or malware
running as that user, which could also read the agent's memory — gets the keys until
the session ends. The keys live in ordinary Python memory (no mlock): on a laptop with
unencrypted swap they may reach the disk.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import service.desk.store.keys as keys
from service.desk.errors import SessionError, SessionOrphanError
from service.desk.store.keys import Keyring

DEFAULT_IDLE_MINUTES = 15.0
DEFAULT_MAX_HOURS = 8.0
_POLL_SECONDS = 2.0
_MAX_REPLY = 1 << 20
_PEERCRED = struct.Struct("3i")  # pid, uid, gid


def runtime_dir() -> Path:
    """The private folder for session sockets; created 0700, and checked to be ours."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "aryz" if base else Path("/tmp") / f"aryz-{os.getuid()}"  # noqa: S108 - checked below
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        raise SessionError() from None
    # Someone else's folder (made first in /tmp) or a symlink must never receive our socket.
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or stat.S_IMODE(info.st_mode) != 0o700
    ):
        raise SessionError()
    return folder


def socket_path(directory: Path, sid: int | None = None) -> Path:
    """The socket of ``directory``'s session in this terminal session."""
    sid = os.getsid(0) if sid is None else sid
    desk = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return runtime_dir() / f"desk-{sid}-{desk}.sock"


# --- the commands' side -------------------------------------------------------------------


def fetch(directory: Path) -> Keyring | None:
    """The unlocked keys of ``directory`` from this terminal's agent, or None.

    None when no agent runs, it refuses us, or its keys no longer fit the key file (a
    rotation or staff change since the unlock): the caller then asks for the passphrase.
    """
    try:
        path = socket_path(directory)
    except SessionError:
        return None
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(str(path))
            conn.sendall(b"keys\n")
            raw = _read_all(conn)
    except OSError:
        return None
    if not raw:
        return None
    try:
        keyring = _decode(raw)
        public = keys.read_public(directory)
    except Exception:  # noqa: BLE001 - any doubt about the session means: ask again
        return None
    if public != keyring.public:
        return None
    if keyring.member is not None and keyring.member not in keys.staff_ids(directory):
        return None  # removed since the unlock
    return keyring


def lock(directory: Path) -> bool:
    """Ask this terminal's agent for ``directory`` to end; True if one answered."""
    try:
        path = socket_path(directory)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(str(path))
            conn.sendall(b"lock\n")
            _read_all(conn)
    except (OSError, SessionError):
        return False
    return True


def start(directory: Path, keyring: Keyring, idle_minutes: float, max_hours: float) -> int:
    """Start the agent for this terminal session; return its process id."""
    if not 0 < idle_minutes <= 24 * 60 or not 0 < max_hours <= 24:
        raise SessionError()
    if not _leader_alive(os.getsid(0)):
        # The agent ends with the session's leader; with the leader gone already (a job
        # left behind by a closed shell) it would end at once, after a "Desk unlocked".
        raise SessionOrphanError()
    path = socket_path(directory)
    lock(directory)  # an older session for the same desk and terminal ends first
    path.unlink(missing_ok=True)
    # A fresh interpreter, not a fork: the keys go over a pipe, never argv or environ.
    agent = subprocess.Popen(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "service.desk.cli.session",
            str(path),
            str(os.getsid(0)),
            str(idle_minutes * 60),
            str(max_hours * 3600),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal is not meant for it
        close_fds=True,
    )
    if agent.stdin is None or agent.stdout is None:  # never: both are PIPE above
        raise SessionError()
    try:
        agent.stdin.write(_encode(keyring))
        agent.stdin.close()
        ready = agent.stdout.readline()
    except OSError:
        ready = b""
    agent.stdout.close()
    if ready != b"ready\n":
        agent.kill()
        agent.wait()
        raise SessionError()
    return agent.pid


def _read_all(conn: socket.socket) -> bytes:
    parts, size = [], 0
    while chunk := conn.recv(65536):
        parts.append(chunk)
        size += len(chunk)
        if size > _MAX_REPLY:
            raise OSError("reply too large")
    return b"".join(parts)


def _encode(keyring: Keyring) -> bytes:
    document: dict[str, Any] = {
        "public": keyring.public.as_json(),
        "secrets": keys.secrets_bytes(keyring).decode("ascii"),
        "opslimit": keyring.limits.opslimit,
        "memlimit": keyring.limits.memlimit,
        "member": keyring.member,
        "desk_key": None if keyring.desk_key is None else keyring.desk_key.hex(),
    }
    return json.dumps(document).encode("ascii")


def _decode(raw: bytes) -> Keyring:
    from dataclasses import replace

    from service.common.crypto.wrap import KdfLimits

    document = json.loads(raw)
    p = document["public"]
    public = keys.PublicKeys(
        coalition=str(p["coalition"]),
        signing_key=bytes.fromhex(p["signing_key"]),
        epochs=tuple((int(e["epoch"]), bytes.fromhex(e["public_key"])) for e in p["epochs"]),
        courier_keys=tuple(bytes.fromhex(k) for k in p["courier_keys"]),
    )
    limits = KdfLimits(opslimit=int(document["opslimit"]), memlimit=int(document["memlimit"]))
    # Every public key is derived again from its secret and compared, as at an unlock.
    keyring = keys.keyring_from_secrets(public, document["secrets"].encode("ascii"), limits)
    desk_key = document["desk_key"]
    return replace(
        keyring,
        member=document["member"],
        desk_key=None if desk_key is None else bytes.fromhex(desk_key),
    )


# --- the agent ------------------------------------------------------------------------------


def _leader_alive(sid: int) -> bool:
    # A session's id is its leader's process id; the session ends with its leader (a
    # closed terminal or a dropped SSH link ends the shell that leads it).
    try:
        os.kill(sid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return os.getsid(sid) == sid
    except OSError:
        return False


def _peer_allowed(conn: socket.socket, sid: int) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, _gid = _PEERCRED.unpack(creds)
    if uid != os.getuid():
        return False
    try:
        return os.getsid(pid) == sid
    except OSError:
        return False


def serve(path: Path, sid: int, idle: float, lifetime: float) -> None:
    """Run the agent: answer ``keys``/``lock`` until idle, expired or the session ends."""
    payload = sys.stdin.buffer.read()
    sys.stdin.close()
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    try:
        _decode(payload)  # refuse to serve anything that is not a whole keyring
    except Exception:  # noqa: BLE001 - the parent reports SessionError
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # the socket itself 0600, inside the 0700 folder
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(4)
    sys.stdout.write("ready\n")
    sys.stdout.close()
    started = last = time.monotonic()
    try:
        while not stop:
            now = time.monotonic()
            if now - last >= idle or now - started >= lifetime or not _leader_alive(sid):
                break
            if not path.exists():
                break  # the socket was removed: nobody can reach us any more
            readable, _, _ = select.select([listener], [], [], _POLL_SECONDS)
            if not readable:
                continue
            conn, _addr = listener.accept()
            with conn:
                conn.settimeout(5)
                if not _peer_allowed(conn, sid):
                    continue
                try:
                    request = conn.recv(16)
                except OSError:
                    continue
                if request == b"keys\n":
                    last = time.monotonic()
                    with contextlib.suppress(OSError):
                        conn.sendall(payload)
                elif request == b"lock\n":
                    break
    finally:
        listener.close()
        path.unlink(missing_ok=True)
        # Best effort only: Python may hold other copies of these bytes.
        payload = b""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aryz-desk-session")
    parser.add_argument("path", type=Path)
    parser.add_argument("sid", type=int)
    parser.add_argument("idle", type=float)
    parser.add_argument("lifetime", type=float)
    args = parser.parse_args(argv)
    serve(args.path, args.sid, args.idle, args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
