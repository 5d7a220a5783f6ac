"""atheris target: the desk's whole import path on hostile payloads (F-01).

An input is taken (by its first byte) as a whole bundle file, or as one item's plaintext,
answers body or metadata — anything a sealer could write — sealed to the desk's key and
put in a well-formed bundle before a good item. The import must end in a clean
refusal (our error tree) or a report; and in the second case the good item after the
hostile one must always arrive. A crash is any other exception, or the good item lost.
"""

import atexit
import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.contract.bundle import BundleCase, BundleItem, Manifest, head_bytes
    from service.common.crypto.envelope import seal
    from service.common.crypto.keys import generate_box_keypair
    from service.common.crypto.payload import encode_payload_prefix
    from service.desk.casework.desk import Desk, init_desk, open_desk
from tests.fuzz.common import fuzz

os.environ["ARYZ_DESK_KDF"] = "minimum"  # a test desk: unlocked in milliseconds
PASSPHRASE = "orchard lantern walrus pebble violin harbor quilt"  # noqa: S105 - a test value
_ROOT = Path(tempfile.mkdtemp(prefix="aryz-fuzz-desk-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
_FRESH_EVERY = 100  # a new desk now and then: each input adds a case, and speed drops


class _State:
    desk: Desk
    key: bytes
    runs = 0


def _fresh_desk() -> None:
    folder = _ROOT / f"desk-{_State.runs}"
    init_desk(folder, "kz-coalition", PASSPHRASE)
    if hasattr(_State, "desk"):
        old = _State.desk.directory
        _State.desk.close()
        shutil.rmtree(old, ignore_errors=True)
    _State.desk = open_desk(folder, PASSPHRASE)
    _State.key = _State.desk.public.epochs[-1][1]


_fresh_desk()


def _bundle(plaintexts: list[bytes]) -> tuple[bytes, list[str]]:
    reply = generate_box_keypair()
    case = BundleCase(secrets.token_hex(16), reply.public.hex(), "received", 0)
    envelopes = [(secrets.token_hex(16), seal(p, [_State.key])) for p in plaintexts]
    manifest = Manifest(
        coalition="kz-coalition",
        bundle=secrets.token_hex(16),
        created="2026-W49",
        cases=(case,),
        items=tuple(
            BundleItem(ref, case.case, len(e), hashlib.sha256(e).hexdigest())
            for ref, e in envelopes
        ),
    )
    return head_bytes(manifest) + b"".join(e for _r, e in envelopes), [r for r, _e in envelopes]


GOOD = encode_payload_prefix({"type": "message", "created": "2026-W49"}) + b"good"


ANSWERS_PREFIX = encode_payload_prefix({"type": "answers", "created": "2026-W49"})


def _plaintext(mode: int, rest: bytes) -> bytes:
    """What the input stands for: a whole plaintext, an answers body after good metadata,
    or metadata (its length prefix computed) before a short body."""
    if mode == 1:
        return rest
    if mode == 2:
        return ANSWERS_PREFIX + rest
    return len(rest).to_bytes(4, "big") + rest + b"body"


def parse(data: bytes) -> None:
    if not data:
        return
    _State.runs += 1
    if _State.runs % _FRESH_EVERY == 0:
        _fresh_desk()
    desk = _State.desk
    path = _ROOT / "input.aryz"
    mode = data[0] % 4
    if mode == 0:
        path.write_bytes(data[1:])
        desk.import_bundle(path)  # AryzError (a refused bundle) is a clean answer
        return
    raw, refs = _bundle([_plaintext(mode, data[1:]), GOOD])
    path.write_bytes(raw)
    report = desk.import_bundle(path)
    lost = any(p.item_prefix == refs[1][:8] for p in report.problems)
    if report.imported + len(report.problems) != 2 or report.imported < 1 or lost:
        raise AssertionError("the good item after a hostile one was lost")


if __name__ == "__main__":
    fuzz(parse)
