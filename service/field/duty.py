"""The duty officer's side of the urgent lane, on the courier machine.

``watch`` asks the staff onion (through Tor, signed with the courier credential) for the
coalition's urgent records every ``interval`` seconds, opens each new one with the duty
key, keeps its sealed bytes in the officer's folder and raises the alert: a line on the
terminal, a desktop notification where there is a desktop (``notify-send``), and the
coalition's own hook (``--on-urgent CMD``), which receives the record as JSON on its
standard input only — never in its arguments or environment, which other users of the
machine can read (``ps``, ``/proc/<pid>/environ``).

``ack`` signs the officer's word ("seen, acting", "a lawyer has been told" …) with the duty
signing key and sends it; the server checks it against the registry's duty key, shows it
to the family on the status page, and deletes the urgent record.

The folder (``--dir``) holds ``records/<ref>.sealed`` (the record as it came, still sealed
to the duty key: opened again for each ``show``) and ``records/<ref>.json`` (the last
acknowledgement sent). Nothing readable is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import service.common.files as files
from service.common.clock import current_week
from service.common.contract.credential import Credential
from service.common.contract.duty import (
    ACK_STATUSES,
    DutyAck,
    UrgentError,
    UrgentRecord,
    is_week,
    read_urgent,
    sign_ack,
)
from service.common.contract.duty_key import DutyKey
from service.common.crypto.envelope import open_envelope
from service.common.errors import AryzError, EnvelopeError
from service.common.text import for_terminal
from service.field.courier import PREFIX, CourierClientError, _json, _signed
from service.field.polling import DEFAULT_INTERVAL

HOOK_TIMEOUT = 120.0
_REF = re.compile(r"[0-9a-f]{32}")


class DutyError(AryzError):
    code = "duty"
    message = "The urgent record cannot be used."


@dataclass(frozen=True)
class Opened:
    ref: str
    record: UrgentRecord


def default_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aryz" / "duty"


class Folder:
    """The officer's folder of urgent records (sealed) and the acknowledgements sent."""

    def __init__(self, root: Path) -> None:
        self.records = root / "records"
        self.records.mkdir(parents=True, exist_ok=True, mode=0o700)

    def has(self, ref: str) -> bool:
        return (self.records / f"{ref}.sealed").exists()

    def keep(self, ref: str, sealed: bytes) -> None:
        # 0600, fsync'd, renamed into place, folder fsync'd (service.common.files).
        files.replace(self.records / f"{ref}.sealed", sealed)

    def refs(self) -> list[str]:
        return sorted(p.stem for p in self.records.glob("*.sealed") if _REF.fullmatch(p.stem))

    def find(self, prefix: str) -> str:
        """The one ref starting with ``prefix`` (the alert shows the first 8 digits)."""
        prefix = prefix.strip().lower()
        found = [r for r in self.refs() if r.startswith(prefix)] if prefix else []
        if len(found) != 1:
            raise DutyError(
                "No urgent record, or more than one, starts with that; see 'aryz duty list'."
            )
        return found[0]

    def open(self, ref: str, key: DutyKey) -> UrgentRecord:
        return _open(ref, (self.records / f"{ref}.sealed").read_bytes(), key)

    def state(self, ref: str) -> dict[str, Any]:
        path = self.records / f"{ref}.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def note(self, ref: str, state: dict[str, Any]) -> None:
        path = self.records / f"{ref}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
        temporary.replace(path)


def _open(ref: str, sealed: bytes, key: DutyKey) -> UrgentRecord:
    try:
        record = read_urgent(open_envelope(sealed, [key.box]))
    except (EnvelopeError, UrgentError):
        raise DutyError(
            "An urgent record cannot be opened with this duty key (another epoch, or altered)."
        ) from None
    # The ref and coalition are sealed inside: a server cannot pass one case's record off
    # as another's, nor another coalition's as this one's.
    if record.ref.hex() != ref or record.coalition != key.coalition:
        raise DutyError("An urgent record does not belong where the server put it.")
    return record


def poll(
    client: httpx.Client,
    credential: Credential,
    key: DutyKey,
    folder: Folder,
    refused: Callable[[str, DutyError], None] | None = None,
) -> list[Opened]:
    """Ask once for the coalition's urgent records; open and keep the new ones.

    A record this key cannot open (another epoch, altered, moved from another case or
    coalition) raises :class:`DutyError`, or with ``refused`` is reported there and
    skipped, so one bad record cannot stop the watch from alerting on the others.
    """
    data = _json(_signed(client, credential, "POST", f"{PREFIX}/urgent", b"{}"))
    records = data.get("records")
    if not isinstance(records, list):
        raise CourierClientError()
    new: list[Opened] = []
    for entry in records:
        try:
            ref = str(entry["ref"])
            sealed = base64.b64decode(str(entry["data"]), validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise CourierClientError() from None
        if not _REF.fullmatch(ref) or folder.has(ref):
            continue
        try:
            record = _open(ref, sealed, key)
        except DutyError as exc:
            if refused is None:
                raise
            refused(ref, exc)
            continue
        folder.keep(ref, sealed)
        new.append(Opened(ref, record))
    return new


def record_json(ref: str, record: UrgentRecord) -> bytes:
    """What the hook reads on its standard input."""
    return json.dumps(
        {
            "ref": ref,
            "coalition": record.coalition,
            "week": record.week,
            "answers": record.answers,
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")


def summary(ref: str, record: UrgentRecord) -> str:
    a = record.answers
    parts = [
        f"URGENT {ref[:8]}",
        a.get("region") or a.get("country") or "region unknown",
        a.get("place_type", "place unknown"),
        f"since {a['since']}" if "since" in a else "since unknown",
        "needs " + ",".join(a.get("needs", ())) if a.get("needs") else "",
        "contact given" if "contact" in a else "",
    ]
    line = " | ".join(p for p in parts if p)
    return for_terminal(f"{line} -- aryz duty show {ref[:8]}")


def describe(ref: str, record: UrgentRecord, state: dict[str, Any]) -> str:
    a = record.answers
    rows = [
        ("urgent record", ref),
        ("received (ISO week)", record.week),
        ("country", a.get("country", "-")),
        ("region", a.get("region", "-")),
        ("place type", a.get("place_type", "-")),
        ("place", a.get("place", "-")),
        ("held since", a.get("since", "-")),
        ("needed", ", ".join(a.get("needs", ())) or "-"),
        ("contact", a.get("contact", "(not agreed or not given)")),
        ("acknowledged", state.get("status", "not yet")),
        ("answer expected by", state.get("answer_by") or "-"),
    ]
    return "\n".join(for_terminal(f"{label:>20}: {value}") for label, value in rows)


Runner = Callable[..., Any]


def alert(
    opened: Opened,
    *,
    say: Callable[[str], None],
    on_urgent: str | None = None,
    desktop: bool | None = None,
    run: Runner = subprocess.run,
) -> None:
    """Raise the alert for one new record: terminal, desktop, hook."""
    say(summary(opened.ref, opened.record))
    if desktop is None:
        desktop = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    notifier = shutil.which("notify-send") if desktop else None
    if notifier:
        # Only the ref's first digits: a notification's text is in argv, which any user
        # of the machine can read.
        run(
            [
                notifier,
                "--urgency=critical",
                "Aryz: urgent report",
                f"aryz duty show {opened.ref[:8]}",
            ],
            check=False,
            timeout=10,
        )
    if on_urgent:
        try:
            done = run(
                shlex.split(on_urgent),
                input=record_json(opened.ref, opened.record),
                check=False,
                timeout=HOOK_TIMEOUT,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(for_terminal(f"the --on-urgent command failed: {type(exc).__name__}"))
            return
        if getattr(done, "returncode", 0) != 0:
            say(f"the --on-urgent command exited {int(done.returncode)}")


def watch(
    client: httpx.Client,
    credential: Credential,
    key: DutyKey,
    folder: Folder,
    *,
    interval: float = DEFAULT_INTERVAL,
    on_urgent: str | None = None,
    say: Callable[[str], None],
    polls: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    run: Runner = subprocess.run,
) -> int:
    """Poll until stopped (or ``polls`` times); returns how many records were new."""
    seen = 0
    done = 0
    told: set[str] = set()

    def refused(ref: str, exc: DutyError) -> None:
        if ref not in told:  # once per record, not at every poll
            told.add(ref)
            say(for_terminal(f"REFUSED urgent record {ref[:8]}: {exc.message}"))

    while polls is None or done < polls:
        try:
            new = poll(client, credential, key, folder, refused)
        except (httpx.TransportError, CourierClientError) as exc:
            # A dropped circuit or a busy server: say so and try again next time.
            text = exc.message if isinstance(exc, AryzError) else "the server could not be reached"
            say(for_terminal(f"poll failed ({text}); trying again in {interval:g} s"))
            new = []
        for opened in new:
            alert(opened, say=say, on_urgent=on_urgent, run=run)
        seen += len(new)
        done += 1
        if polls is None or done < polls:
            sleep(interval)
    return seen


def ack(
    client: httpx.Client,
    credential: Credential,
    key: DutyKey,
    folder: Folder,
    ref: str,
    status: str,
    answer_by: str | None = None,
) -> bool:
    """Sign and send the officer's word on one record; True if applied now."""
    if status not in ACK_STATUSES:
        raise DutyError("Status must be one of: " + ", ".join(ACK_STATUSES) + ".")
    if answer_by is not None and not is_week(answer_by):
        raise DutyError("--answer-by takes an ISO week, e.g. 2026-W50.")
    record = folder.open(ref, key)
    state = folder.state(ref)
    seq = int(state.get("seq", 0)) + 1
    document = sign_ack(
        DutyAck(
            coalition=key.coalition,
            urgent=record.ref,
            reply_key=record.reply_key,
            epoch=key.epoch,
            seq=seq,
            status=status,
            week=current_week(),
            answer_by=answer_by,
        ),
        key.signing_seed,
    )
    answer = _json(
        _signed(client, credential, "POST", f"{PREFIX}/urgent/ack", document.encode("utf-8"))
    )
    folder.note(ref, {"seq": seq, "status": status, "answer_by": answer_by})
    return bool(answer.get("applied"))
