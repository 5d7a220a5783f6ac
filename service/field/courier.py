"""The courier's online machine: fetch the coalition's bundle, deliver its outbox.

``pull`` asks for a challenge, signs ``POST /courier/v1/bundles``, then downloads the
bundle into ``<out>.part``. A download cut off (a dropped Tor circuit) is resumed from
the bytes already on disk with ``Range: bytes=N-``; the next ``pull`` resumes too, since
the ``.part`` file's own manifest names its bundle. Only a bundle whose every item
matches its manifest's SHA-256 is fsync'd and renamed into place.

``push`` delivers an outbox file. Retrying is safe: the server answers "already applied"
to an outbox it has applied, so a response lost on the way back does no harm.

Nothing here holds a key that can decrypt or sign for the coalition: the credential only
proves to the server that this machine is the coalition's courier.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import service.common.files as files
from service.common.contract import courier_auth
from service.common.contract.bundle import BundleError, Manifest, read_manifest
from service.common.contract.credential import Credential
from service.common.contract.outbox import MAX_OUTBOX_BYTES
from service.common.errors import AryzError
from service.common.text import visible
from service.field.client import retrying

PREFIX = "/courier/v1"
BLOCK = 1024 * 1024
SYNC_EVERY = 16 * 1024 * 1024  # fsync the .part this often, so a crash loses little


class CourierClientError(AryzError):
    code = "courier_client"
    message = "The courier server could not be reached or refused the request."


@dataclass(frozen=True)
class Pulled:
    items: int
    size: int
    resumed_from: int = 0  # bytes already on disk when the finishing download began


def pull(
    client: httpx.Client,
    credential: Credential,
    out: Path,
    *,
    max_bytes: int | None = None,
    sync: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Pulled:
    """Fetch the coalition's waiting items into ``out``; ``size == 0``: nothing new.

    ``sync`` (after a desk restore) asks for every case's last applied number too.
    """
    if out.exists():
        # An earlier bundle not yet carried to the desk must not be overwritten.
        raise CourierClientError("The output file already exists; move it away first.")
    part = out.with_name(out.name + ".part")
    # Each attempt resumes from what the .part file holds by then.
    return retrying(lambda: _pull_once(client, credential, out, part, max_bytes, sync), sleep)


def _pull_once(
    client: httpx.Client,
    credential: Credential,
    out: Path,
    part: Path,
    max_bytes: int | None,
    sync: bool = False,
) -> Pulled:
    resuming = _partial_bundle(part)
    if resuming is not None:
        resumed_from = _download(client, credential, resuming, part)
        if resumed_from is not None:
            return _finish(credential, part, out, resumed_from)
    asked: dict[str, Any] = {"max_bytes": max_bytes} if max_bytes else {}
    if sync:
        asked["sync"] = True
    body = json.dumps(asked).encode()
    prepared = _json(_signed(client, credential, "POST", f"{PREFIX}/bundles", body))
    if not prepared.get("bundle"):
        return Pulled(0, 0)
    # Whatever .part there is belongs to a bundle the server no longer serves, or is too
    # short to say which: start this one from its first byte.
    part.unlink(missing_ok=True)
    if _download(client, credential, str(prepared["bundle"]), part) is None:
        raise CourierClientError("The bundle was replaced on the server; run pull again.")
    return _finish(credential, part, out, 0)


def _partial_bundle(part: Path) -> str | None:
    """The bundle id in a partial download's manifest, if it got that far."""
    try:
        with part.open("rb") as f:
            return read_manifest(f).bundle
    except (OSError, BundleError):
        return None


def _download(client: httpx.Client, credential: Credential, bundle: str, part: Path) -> int | None:
    """Append the rest of ``bundle`` to ``part``; the offset it resumed from, or None if
    the server no longer has that bundle."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"range": f"bytes={have}-"} if have else {}
    response = _signed(
        client, credential, "GET", f"{PREFIX}/bundles/{bundle}", headers=headers, stream=True
    )
    try:
        if response.status_code == 404:
            return None
        if response.status_code == 416:
            return have  # nothing after what we have; _finish checks it is whole
        if response.status_code not in (200, 206):
            response.read()
            _json(response)  # raises with the server's fixed message
        if response.status_code == 200:
            have = 0  # the server sent the whole file
        elif not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
            raise CourierClientError("The server answered a different range.")
        _append(response, part, have)
    finally:
        response.close()
    return have


def _append(response: httpx.Response, part: Path, offset: int) -> None:
    with files.open_private(part, exclusive=False) as f:
        f.seek(offset)
        f.truncate()
        unsynced = 0
        try:
            # As it arrives, not re-blocked: whatever came before a cut is kept.
            for block in response.iter_bytes():
                f.write(block)
                unsynced += len(block)
                if unsynced >= SYNC_EVERY:
                    files.sync(f)
                    unsynced = 0
        finally:
            # Keep what arrived before a cut: the next attempt resumes after it.
            files.sync(f)


def _finish(credential: Credential, part: Path, out: Path, resumed_from: int) -> Pulled:
    """Check every item against the manifest, then move the bundle into place durably."""
    manifest = _verified(part)
    if manifest is None or manifest.coalition != credential.coalition:
        part.unlink(missing_ok=True)
        raise CourierClientError("The downloaded bundle was damaged and was removed; pull again.")
    size = part.stat().st_size
    os.replace(part, out)
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        files.sync(directory)  # the rename itself must survive a power cut
    finally:
        os.close(directory)
    return Pulled(len(manifest.items), size, resumed_from)


def _verified(part: Path) -> Manifest | None:
    """The manifest, if the file holds exactly its items with the right SHA-256 each."""
    try:
        with part.open("rb") as f:
            manifest = read_manifest(f)
            for entry in manifest.items:
                digest = hashlib.sha256()
                left = entry.size
                while left:
                    block = f.read(min(BLOCK, left))
                    if not block:
                        return None
                    digest.update(block)
                    left -= len(block)
                if digest.hexdigest() != entry.sha256:
                    return None
            if f.read(1):
                return None
    except (OSError, BundleError):
        return None
    return manifest


def push(
    client: httpx.Client,
    credential: Credential,
    outbox: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Deliver an outbox; the server's answer (``applied``, ``already``, ``records``)."""
    try:
        with outbox.open("rb") as f:
            data = f.read(MAX_OUTBOX_BYTES + 1)
    except OSError:
        raise CourierClientError("The outbox file cannot be read.") from None
    if len(data) > MAX_OUTBOX_BYTES:
        raise CourierClientError("The outbox file is larger than the server accepts.")
    if _coalition_of(data) not in (None, credential.coalition):
        raise CourierClientError("The outbox is for another coalition than this credential.")
    # Safe to repeat: an outbox already applied is answered "already", not refused.
    return retrying(
        lambda: _json(_signed(client, credential, "POST", f"{PREFIX}/outbox", data)), sleep
    )


@dataclass(frozen=True)
class Delivery:
    """The server's answer to an outbox, and the receipt file that keeps it."""

    applied: bool
    already: bool
    records: int
    receipt: Path
    refused: str | None  # the server's fixed message when it refused the outbox


def deliver(
    client: httpx.Client,
    credential: Credential,
    outbox: Path,
    receipt: Path,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Deliver an outbox and keep the server's answer as a receipt for the desk.

    Applied or refused, the receipt names each case of the outbox with the last sequence
    number the server applied to it (service/common/contract/receipt.py); after a refusal these
    come from ``POST /courier/v1/cases``. Only an answer about the outbox itself is kept:
    a refused signature or an unreachable server writes no receipt.
    """
    from service.common.contract import receipt as receipts

    data = _outbox_bytes(outbox, credential)
    response = retrying(
        lambda: _signed(client, credential, "POST", f"{PREFIX}/outbox", data), sleep
    )
    code = _error_code(response)
    if code is not None and code.startswith("outbox"):
        sequences = _sequences(client, credential, _case_refs(data), sleep)
        _write_receipt(receipt, receipts.encode(credential.coalition, data, False, sequences, code))
        try:
            _json(response)
        except CourierClientError as refused:
            return Delivery(False, False, 0, receipt, refused.message)
    result = _json(response)
    sequences = _last_numbers(data)
    _write_receipt(receipt, receipts.encode(credential.coalition, data, True, sequences, None))
    return Delivery(
        bool(result.get("applied")),
        bool(result.get("already")),
        int(result.get("records", 0)),
        receipt,
        None,
    )


def _outbox_bytes(outbox: Path, credential: Credential) -> bytes:
    try:
        with outbox.open("rb") as f:
            data = f.read(MAX_OUTBOX_BYTES + 1)
    except OSError:
        raise CourierClientError("The outbox file cannot be read.") from None
    if len(data) > MAX_OUTBOX_BYTES:
        raise CourierClientError("The outbox file is larger than the server accepts.")
    if _coalition_of(data) not in (None, credential.coalition):
        raise CourierClientError("The outbox is for another coalition than this credential.")
    return data


def _error_code(response: httpx.Response) -> str | None:
    if response.status_code < 400 or response.status_code in (401, 413):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None


def _records(data: bytes) -> list[dict[str, Any]]:
    try:
        records = json.loads(data)["records"]
        return [r["body"] for r in records if isinstance(r, dict) and isinstance(r["body"], dict)]
    except (ValueError, KeyError, TypeError):
        return []


def _case_refs(data: bytes) -> list[str]:
    return sorted({str(body.get("case")) for body in _records(data)})


def _last_numbers(data: bytes) -> dict[str, int]:
    last: dict[str, int] = {}
    for body in _records(data):
        case, seq = str(body.get("case")), body.get("seq")
        if isinstance(seq, int):
            last[case] = max(last.get(case, 0), seq)
    return last


def _sequences(
    client: httpx.Client, credential: Credential, refs: list[str], sleep: Callable[[float], None]
) -> dict[str, int]:
    body = json.dumps({"cases": refs}).encode()
    answer = retrying(
        lambda: _json(_signed(client, credential, "POST", f"{PREFIX}/cases", body)), sleep
    )
    found = answer.get("cases")
    if not isinstance(found, list):
        raise CourierClientError()
    try:
        return {str(c["case"]): int(c["status_seq"]) for c in found}
    except (KeyError, TypeError, ValueError):
        raise CourierClientError() from None


def _write_receipt(path: Path, data: bytes) -> None:
    part = path.with_name(path.name + ".part")
    try:
        part.unlink(missing_ok=True)  # a crashed earlier attempt's
        with files.open_private(part) as f:
            f.write(data)
            files.sync(f)
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)
        raise CourierClientError("The receipt file cannot be written.") from None


def _coalition_of(data: bytes) -> str | None:
    try:
        return str(json.loads(data)["coalition"])
    except (ValueError, KeyError, TypeError):
        return None  # not ours to judge: the server refuses it with a clear message


def _signed(
    client: httpx.Client,
    credential: Credential,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    stream: bool = False,
) -> httpx.Response:
    """Send one request signed over a fresh challenge (each challenge works once)."""
    challenge = bytes.fromhex(str(_json(client.post(f"{PREFIX}/challenge"))["challenge"]))
    request = client.build_request(method, path, content=body, headers=headers or {})
    request.headers["authorization"] = courier_auth.authorization(
        credential.key_id, credential.seed, method, request.url.path, challenge, body
    )
    return client.send(request, stream=stream)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        raise CourierClientError(
            _printable(message) if isinstance(message, str) and message else None
        )
    return data


def _printable(text: str, limit: int = 300) -> str:
    """A server's message, safe for a terminal: no control or escape characters."""
    kept = visible(text[:limit])
    return kept or CourierClientError.message
