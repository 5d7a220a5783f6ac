"""F-10: no untrusted string reaches a terminal raw. Real ``aryz`` commands are driven with
hostile strings where a hostile server or submitter would put them; their output holds no
control or bidirectional character, only its escaped form."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.cli import main
from service.common.crypto.token import PRODUCTION_LIMITS
from service.common.text import for_terminal

# Retitle the terminal, clear it, rewrite the line, hide what follows, reverse the text.
HOSTILE = "closed\x1b]0;desk pwned\x07\x1b[2J\x1b[H\r\x1b[8m\u202egpj.exe\u2066\x9b31m\u2028x"
TOKEN = "000000000000000000000000"  # noqa: S105 - a valid test token (Damm digit 0)
_DANGEROUS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def assert_clean(text: str) -> None:
    assert not _DANGEROUS.search(text), repr(text)
    assert all(unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\n\t" for ch in text)


def test_for_terminal_escapes_controls_bidi_and_separators() -> None:
    shown = for_terminal(HOSTILE)
    assert_clean(shown)
    assert "\\u{001B}]0;desk pwned\\u{0007}" in shown
    assert "\\u{202E}gpj.exe\\u{2066}" in shown
    for escaped in ("\\u{009B}", "\\u{2028}", "\\u{000D}"):
        assert escaped in shown
    assert for_terminal("Фото «1».jpg\tok") == "Фото «1».jpg\tok"
    assert for_terminal("a\nb") == "a\\u{000A}b"
    assert for_terminal("a\nb", multiline=True) == "a\nb"
    assert for_terminal("\ud800") == "\\u{D800}"
    assert for_terminal(7) == "7"


class _HostileServer(ThreadingHTTPServer):
    """A server under an adversary's control, on loopback: it answers ``aryz status``
    with escape sequences in every field (the audit's F-10 proof of concept)."""

    failing = False


class _Handler(BaseHTTPRequestHandler):
    server: _HostileServer

    def log_message(self, *_args: object) -> None:
        pass

    def _answer(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        limits = {"opslimit": PRODUCTION_LIMITS.opslimit, "memlimit": PRODUCTION_LIMITS.memlimit}
        self._answer(200, {"kdf": limits, "coalitions": [], "max_submission_bytes": 1000})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.server.failing:
            self._answer(400, {"code": "input", "message": HOSTILE})
        else:
            self._answer(200, {"status": HOSTILE, "items_received": HOSTILE, "replies": ["x"]})


@pytest.fixture
def hostile_server() -> Iterator[_HostileServer]:
    server = _HostileServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_aryz_status_escapes_everything_the_server_sends(
    hostile_server: _HostileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # On e75117f the status, the count and the reply were printed raw: the terminal's
    # title changed, the screen cleared, and a fake line could be written.
    url = f"http://127.0.0.1:{hostile_server.server_address[1]}"
    assert main(["status", "--server", url, "--token", TOKEN]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert out.count("\\u{001B}") >= 8
    # The hostile server's reply carries no coalition signature: flagged, its text withheld.
    assert "!!! NOT VERIFIED !!!" in out


def test_an_error_message_from_a_server_is_escaped(
    hostile_server: _HostileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_server.failing = True
    url = f"http://127.0.0.1:{hostile_server.server_address[1]}"
    assert main(["status", "--server", url, "--token", TOKEN]) == 2
    err = capsys.readouterr().err
    assert_clean(err)
    assert "\\u{001B}]0;desk pwned" in err


def test_aryz_backup_verify_escapes_a_forged_manifest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # F-03: a seized server can plant a backup; its manifest is untrusted text.
    import service.server.backup.keys as backup_keys
    import service.server.backup.logic as backup_logic

    monkeypatch.setattr(backup_keys, "unlock_key", lambda _path, _passphrase: object())
    monkeypatch.setattr(
        backup_logic, "verify_backup", lambda _file, _key: {"kind": HOSTILE, "week": HOSTILE}
    )
    monkeypatch.setenv("ARYZ_BACKUP_PASSPHRASE", "x")
    key = tmp_path / "backup-secret.key"
    assert main(["backup", "verify", "--key", str(key), str(tmp_path / "b.aryzbak")]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "\\u{202E}gpj.exe" in out
