"""Unlock once (issue 16 item 7): ``aryz desk unlock`` starts a session agent for this
terminal; later commands need no passphrase; the agent ends on idle, on ``lock``, when the
terminal's session ends, and it answers no other session. Real processes throughout.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.desk.cli.session import runtime_dir
from service.desk.errors import SessionError
from tests.desk.helpers import COALITION, PASSPHRASE

WRONG = "wrong words that unlock nothing at all here"  # noqa: S105 - a test value


def _env(tmp_path: Path, passphrase: str | None = None) -> dict[str, str]:
    env = {**os.environ, "ARYZ_DESK_KDF": "minimum", "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("ARYZ_DESK_PASSPHRASE", None)
    if passphrase is not None:
        env["ARYZ_DESK_PASSPHRASE"] = passphrase
    return env


# The test's "terminal": a process leading its own session that runs the commands it is
# given, as a shell does. The agent serves one session and ends with its leader, so the
# commands must not run in pytest's own session, whose leader may be long gone (pytest
# started by a CI job or under nohup).
_SHELL = """
import json, subprocess, sys
for line in sys.stdin:
    request = json.loads(line)
    done = subprocess.run(request["argv"], env=request["env"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
    print(json.dumps([done.returncode, done.stdout + done.stderr]), flush=True)
"""


class Terminal:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.shell = subprocess.Popen(  # noqa: S603 - the test's own shell
            [sys.executable, "-c", _SHELL],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
        assert self.shell.stdin is not None
        assert self.shell.stdout is not None
        self.shell.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        self.shell.stdin.flush()
        code, out = json.loads(self.shell.stdout.readline())
        return int(code), str(out)

    def aryz(self, *args: str, passphrase: str | None = None, code: int = 0) -> str:
        argv = [sys.executable, "-m", "service", "desk", *args]
        got, out = self.run(argv, _env(self.tmp_path, passphrase))
        assert got == code, out
        return out

    def close(self) -> None:
        if self.shell.stdin is not None:
            self.shell.stdin.close()
        try:
            self.shell.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.shell.kill()
            self.shell.wait()


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    terminal = Terminal(tmp_path)
    yield terminal
    terminal.close()


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # ended, not yet reaped by whoever adopted it


def _wait_gone(pid: int) -> None:
    # Not a timed assertion: the agent is waited for generously; only its end matters.
    for _ in range(600):
        if _gone(pid):
            return
        time.sleep(0.1)
    raise AssertionError("the session agent did not end")


@pytest.fixture
def desk(tmp_path: Path, term: Terminal) -> Iterator[Path]:
    (tmp_path / "run").mkdir(mode=0o700)
    folder = tmp_path / "desk"
    term.aryz("init", "--dir", str(folder), "--coalition", COALITION, passphrase=PASSPHRASE)
    yield folder
    for path in (tmp_path / "run" / "aryz").glob("*.sock"):
        path.unlink()  # an agent left by a failed test ends once its socket is gone


def _unlock(term: Terminal, folder: Path, *extra: str) -> int:
    out = term.aryz("unlock", "--dir", str(folder), *extra, passphrase=PASSPHRASE)
    found = re.search(r"agent process (\d+)", out)
    assert found is not None, out
    return int(found.group(1))


def test_commands_after_unlock_need_no_passphrase_until_lock(
    tmp_path: Path, desk: Path, term: Terminal
) -> None:
    pid = _unlock(term, desk)
    sockets = list((tmp_path / "run" / "aryz").iterdir())
    assert len(sockets) == 1
    assert oct(sockets[0].stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "run" / "aryz").stat().st_mode & 0o777) == "0o700"
    # No passphrase anywhere: with none in the environment and stdin closed, a command
    # could not unlock on its own; it gets the keys from the session.
    for _ in range(3):
        assert "0 cases" in term.aryz("list", "--dir", str(desk))
    assert "No entries" not in term.aryz("stats", "--dir", str(desk))
    assert "Locked" in term.aryz("lock", "--dir", str(desk))
    _wait_gone(pid)
    out = term.aryz("list", "--dir", str(desk), passphrase=WRONG, code=2)
    assert "passphrase is wrong" in out


def test_the_session_ends_after_idle_minutes(tmp_path: Path, desk: Path, term: Terminal) -> None:
    pid = _unlock(term, desk, "--idle-minutes", "0.02")  # 1.2 seconds
    _wait_gone(pid)
    assert not list((tmp_path / "run" / "aryz").glob("*.sock"))
    out = term.aryz("list", "--dir", str(desk), passphrase=WRONG, code=2)
    assert "passphrase is wrong" in out


def test_the_session_dies_with_its_terminal_and_serves_no_other(
    tmp_path: Path, desk: Path, term: Terminal
) -> None:
    # A "terminal": a shell leading its own session unlocks and runs one command, then waits.
    out = tmp_path / "terminal.out"
    script = (
        f"{sys.executable} -m service desk unlock --dir {desk} > {out}.unlock 2>&1 && "
        f"env -u ARYZ_DESK_PASSPHRASE {sys.executable} -m service desk list --dir {desk} "
        f"> {out}.part 2>&1 </dev/null; mv {out}.part {out}; exec sleep 600"
    )
    terminal = subprocess.Popen(  # noqa: S603 - a test shell
        ["/bin/bash", "-c", script],
        env=_env(tmp_path, PASSPHRASE),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):
            if out.exists():
                break
            time.sleep(0.1)
        assert "0 cases" in out.read_text()
        found = re.search(r"agent process (\d+)", Path(f"{out}.unlock").read_text())
        assert found is not None
        pid = int(found.group(1))
        (sock,) = (tmp_path / "run" / "aryz").glob("*.sock")
        # This test's own session is another terminal: the agent gives it nothing, even
        # when it connects to the socket directly.
        probe = (
            "import socket,sys\ns=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
            "try:\n s.sendall(b'keys\\n');print(len(s.recv(65536)))\n"
            "except OSError:\n print(0)"
        )
        got = subprocess.run(  # noqa: S603
            [sys.executable, "-c", probe, str(sock)], capture_output=True, text=True, check=True
        )
        assert got.stdout.strip() == "0"
        refused = term.aryz("list", "--dir", str(desk), passphrase=WRONG, code=2)
        assert "passphrase is wrong" in refused
        # The terminal closes: its session leader goes, and the agent with it.
        terminal.send_signal(signal.SIGHUP)
        terminal.wait(timeout=60)
        _wait_gone(pid)
        assert not sock.exists()
    finally:
        if terminal.poll() is None:
            terminal.kill()
            terminal.wait()


def test_a_removed_member_session_is_refused(tmp_path: Path, term: Terminal) -> None:
    (tmp_path / "run").mkdir(mode=0o700)
    folder = tmp_path / "desk"
    other = "copper meadow falcon lilac tundra basket ember"  # noqa: S105 - a test value
    term.aryz("init", "--dir", str(folder), "--coalition", COALITION, "--name", "Aliya",
          passphrase=PASSPHRASE)  # fmt: skip
    env_add = {"ARYZ_DESK_NEW_PASSPHRASE": other}
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "service", "desk", "staff", "add", "--dir", str(folder), "Daniyar"],
        env={**_env(tmp_path, PASSPHRASE), **env_add},
        check=True,
        capture_output=True,
    )
    pid = int(
        re.findall(r"agent process (\d+)", term.aryz("unlock", "--dir", str(folder),
                                                 passphrase=other))[0]
    )  # fmt: skip
    try:
        assert "* Daniyar" in term.aryz("staff", "list", "--dir", str(folder))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ARYZ_DESK_KDF", "minimum")
            from service.desk.casework.desk import open_desk

            with open_desk(folder, PASSPHRASE) as aliya:
                aliya.remove_staff("Daniyar")
        # His unlocked session no longer opens the desk.
        out = term.aryz("list", "--dir", str(folder), passphrase=WRONG, code=2)
        assert "passphrase is wrong" in out
    finally:
        term.aryz("lock", "--dir", str(folder))
        _wait_gone(pid)


def test_a_runtime_folder_not_private_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "aryz").mkdir(mode=0o755)
    (tmp_path / "aryz").chmod(0o755)
    with pytest.raises(SessionError):
        runtime_dir()


def test_no_terminal_and_no_passphrase_is_a_clear_error(tmp_path: Path, desk: Path) -> None:
    # No session, no ARYZ_DESK_PASSPHRASE, and no terminal to ask on (a new session has no
    # controlling terminal; stdin is closed): once an EOFError traceback, now a sentence.
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "service", "desk", "list", "--dir", str(desk)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "No passphrase" in result.stderr
    assert "aryz desk unlock" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_unlock_in_an_ended_session_is_refused(tmp_path: Path, desk: Path) -> None:
    # A job left behind by a shell that has ended (nohup, "cmd & exit"): its session has no
    # leader, so an agent would end at once. Unlock says so instead of "Desk unlocked".
    out = tmp_path / "orphan.out"
    script = (
        "leader=$$; ( while kill -0 $leader 2>/dev/null; do sleep 0.05; done; "
        f"{sys.executable} -m service desk unlock --dir {desk} > {out}.part 2>&1 </dev/null; "
        f'echo "exit $?" >> {out}.part; mv {out}.part {out} ) & exit 0'
    )
    subprocess.run(  # noqa: S603 - a test shell
        ["/bin/bash", "-c", script],
        env=_env(tmp_path, PASSPHRASE),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    for _ in range(1200):
        if out.exists():
            break
        time.sleep(0.1)
    text = out.read_text()
    assert text.rstrip().endswith("exit 2"), text
    assert "living terminal session" in text
    assert "agent process" not in text
    assert not list((tmp_path / "run" / "aryz").glob("*.sock"))
