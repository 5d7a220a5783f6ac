"""Submit a case and check it through the JSON API, as a lawyer or field monitor would.

Everything is sealed and derived locally: the server never sees the token or plaintext on
this path. A file is sealed into a private temporary file first (ciphertext only), so an
upload cut off by a dropped Tor circuit resumes from the server's committed offset with the
very same bytes.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import socksio.exceptions

from service.common.clock import current_week
from service.common.contract.duty import (
    DutyAck,
    DutyAckError,
    UrgentRecord,
    ack_is_signed,
    clean_answers,
    urgent_plaintext,
)
from service.common.contract.replies import open_reply
from service.common.contract.signed import (
    Signed,
    is_signed_by_any,
    reply_record,
    status_record,
    transfer_record,
)
from service.common.crypto.envelope import seal, sealed_size
from service.common.crypto.itemseal import case_item_sealer, seal_case_item
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import KdfLimits, TokenSecrets, derive, generate_token, parse_token
from service.common.errors import AryzError
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.payload import answers_plaintext
from service.field.trust import NotPinnedError, Trust, TrustError

READ_SIZE = 256 * 1024
RETRIES = 8
_T = TypeVar("_T")


class ClientError(AryzError):
    code = "client"
    message = "The server could not be reached or refused the request."


@dataclass(frozen=True)
class ServerInfo:
    limits: KdfLimits
    coalitions: list[dict[str, Any]]
    max_submission_bytes: int

    def coalition(self, country: str | None, coalition_id: str | None) -> dict[str, Any]:
        for c in self.coalitions:
            if coalition_id is not None and c["id"] == coalition_id:
                return c
            if coalition_id is None and country in c["countries"]:
                return c
        fallbacks = ", ".join(str(c["id"]) for c in self.coalitions if c["fallback"])
        raise ClientError(
            "No coalition on this server matches that country or id"
            + (f"; a fallback receives it: --coalition {fallbacks}." if fallbacks else ".")
        )


# tor's extended SOCKS replies (ExtendedErrors) that no retry can change.
_PERMANENT = {
    0xF2: "That is not a valid onion address.",
    0xF3: "That is not a valid onion address.",
    0xF4: (
        "That onion needs client authorisation and this computer's tor has no key for it "
        "(put the courier's .auth_private file in tor's ClientOnionAuthDir)."
    ),
    0xF5: "This computer's tor has a client key for that onion, but it was refused.",
}


def _tor_reply_code(exc: BaseException) -> int | None:
    """The reply code socksio could not name (it says so in the ValueError behind it)."""
    match = re.search(r"b'\\x([0-9a-f]{2})'", str(exc.__cause__ or exc.__context__ or ""))
    return int(match.group(1), 16) if match else None


class _ProxyErrors(httpx.BaseTransport):
    """Turn socksio's own ``ProtocolError`` into ``httpx.ProxyError``.

    tor answers an unreachable onion with SOCKS codes socksio does not know (0xF0-0xF7
    with ``ExtendedErrors``) and socksio then raises past httpx. As an ``httpx`` transport
    error it is retried where that is safe and reported as "cannot reach" everywhere.
    """

    def __init__(self, proxy: str | None) -> None:
        self._inner = httpx.HTTPTransport(proxy=proxy)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except socksio.exceptions.ProtocolError as exc:
            code = _tor_reply_code(exc)
            if code in _PERMANENT:
                # Retrying cannot help: say what is wrong at once.
                raise ClientError(_PERMANENT[code]) from None
            raise httpx.ProxyError("the proxy could not connect", request=request) from None

    def close(self) -> None:
        self._inner.close()


def make_client(server: str, proxy: str | None, timeout: float = 120.0) -> httpx.Client:
    # trust_env=False: never pick up a proxy or netrc from the environment by accident;
    # the only proxy is the one named (for Tor: socks5h, so names resolve inside Tor).
    return httpx.Client(
        base_url=server.rstrip("/"),
        transport=_ProxyErrors(proxy),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
    )


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = ""
        raise ClientError(message or f"The server answered {response.status_code}.")
    data: dict[str, Any] = response.json()
    return data


def retrying(call: Callable[[], _T], sleep: Callable[[float], None]) -> _T:
    """Run ``call`` again after a dropped connection (a Tor circuit), backing off; after
    ``RETRIES`` tries, a fixed :class:`ClientError`. Only for calls safe to repeat."""
    for attempt in range(RETRIES):
        try:
            return call()
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise ClientError() from None
            sleep(min(2.0**attempt, 30.0))
    raise ClientError()


def fetch_info(client: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> ServerInfo:
    data = _check(retrying(lambda: client.get("/api/v1/info"), sleep))
    return ServerInfo(
        KdfLimits(int(data["kdf"]["opslimit"]), int(data["kdf"]["memlimit"])),
        list(data["coalitions"]),
        int(data["max_submission_bytes"]),
    )


def _recipients(coalition: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(k["public_key"]) for k in coalition["keys"]]


def seal_file(
    path: Path,
    coalition: dict[str, Any],
    secrets: TokenSecrets,
    workdir: Path,
    position: int = 2,
) -> Path:
    """Seal a file, as item ``position`` of the case (2: the first after the answers),
    into a ciphertext-only temporary file in ``workdir``, padded to its size class and
    signed with the case's key."""
    sealer, fields = case_item_sealer(
        _recipients(coalition), secrets.signing, secrets.reply.public, position
    )
    meta = {
        "type": "file",
        "name": path.name,
        "media_type": "application/octet-stream",
        "created": current_week(),
        **fields,
    }
    fd, name = tempfile.mkstemp(prefix="sealed-", suffix=".aryz", dir=workdir)
    with os.fdopen(fd, "wb") as out, path.open("rb") as source:
        out.write(sealer.header + sealer.update(encode_payload_prefix(meta)))
        while block := source.read(READ_SIZE):
            out.write(sealer.update(block))
        for piece in sealer.finish_pieces():
            out.write(piece)
    return Path(name)


def _file_from(path: Path, offset: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        while block := f.read(READ_SIZE):
            yield block


def upload_item(
    client: httpx.Client,
    lookup_id: bytes,
    sealed: Path,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Upload one sealed item, resuming from the server's committed offset after a drop."""
    size = sealed.stat().st_size
    state = _check(
        retrying(
            lambda: client.post(
                "/api/v1/uploads", json={"lookup_id": lookup_id.hex(), "size": size}
            ),
            sleep,
        )
    )
    upload = state["upload"]
    offset = 0
    for attempt in range(RETRIES):
        try:
            response = client.patch(
                f"/api/v1/uploads/{upload}",
                content=_file_from(sealed, offset),
                headers={
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(size - offset),
                },
            )
            state = _check(response)
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise ClientError() from None
            sleep(min(2.0**attempt, 30.0))
            state = _check(retrying(lambda: client.get(f"/api/v1/uploads/{upload}"), sleep))
        if state["complete"]:
            return
        offset = int(state["offset"])
    raise ClientError("The upload did not complete.")


def trusted_coalition(
    info: ServerInfo, trust: Trust, country: str | None, coalition_id: str | None
) -> dict[str, Any]:
    """The coalition to seal to, its keys replaced by the ones its desk signed.

    The server's unsigned answer only says where to look: the keys, and that the coalition
    serves ``country``, come from the statement checked against a pinned fingerprint.
    """
    coalition = info.coalition(country, coalition_id)
    statement = trust.statement(coalition)
    if coalition_id is None and country not in statement.countries:
        raise TrustError(
            "The coalition the server names for that country is not signed as serving it; "
            "nothing was sealed."
        )
    keys = [{"epoch": e, "public_key": k.hex()} for e, k in statement.keys]
    # The duty key (urgent lane) likewise only as the desk signed it.
    duty = [{"epoch": e, "public_key": k.hex()} for e, k, _verify in statement.duty]
    return {**coalition, "keys": keys, "countries": list(statement.countries), "duty": duty}


def seal_urgent(
    coalition: dict[str, Any], answers: Mapping[str, Any], reply_key: bytes
) -> dict[str, Any]:
    """The urgent record (``service.common.contract.duty``) sealed to the coalition's
    newest signed duty key, as the API takes it beside the case. Only with the person's
    urgent consent; refused before anything is sent when the coalition has no duty key."""
    if not coalition.get("duty"):
        raise ClientError(
            "This organisation has no duty officer (no duty key in its signed key "
            "statement); nothing was sent. Send without the urgent answers."
        )
    duty = max(coalition["duty"], key=lambda d: int(d["epoch"]))
    ref = os.urandom(16)
    record = UrgentRecord(
        coalition=coalition["id"],
        ref=ref,
        reply_key=reply_key,
        week=current_week(),
        answers=dict(answers),
    )
    sealed = seal(urgent_plaintext(record), [bytes.fromhex(duty["public_key"])], padded=True)
    return {
        "ref": ref.hex(),
        "epoch": int(duty["epoch"]),
        "data": base64.b64encode(sealed).decode("ascii"),
    }


def submit(
    client: httpx.Client,
    *,
    country: str | None,
    coalition_id: str | None,
    message: str,
    files: list[Path],
    language: str = "en",
    sleep: Callable[[float], None] = time.sleep,
    trust: Trust | None = None,
    urgent: Mapping[str, Any] | None = None,
) -> str:
    """File a case; returns the token (canonical digits). Only derived values leave here.

    Sealed only to keys the coalition's desk signed, under a fingerprint in ``trust``
    (``service.field.trust``); anything else is refused before a byte is sealed.
    ``urgent`` (given only with the person's urgent consent): the few answers for the duty
    officer (``service.common.contract.duty.FIELDS`` but ``country``), sealed to the duty
    key alone; the desk gets them too, inside the full case, as from the web form.
    """
    info = fetch_info(client, sleep)
    coalition = trusted_coalition(info, trust or Trust(), country, coalition_id)
    # Refuse before sealing anything: a file over the server's cap would only fail later.
    # The cap is on the sealed item, padding included (a generous 64 KiB for metadata).
    recipients = len(_recipients(coalition))
    if any(
        sealed_size(path.stat().st_size + 65536, recipients, padded=True)
        > info.max_submission_bytes
        for path in files
    ):
        raise ClientError("A file is larger than this server accepts.")
    token = generate_token()
    secrets = derive(token, info.limits)
    for_desk = None
    sealed_urgent = None
    if urgent is not None:
        answers_for_duty = clean_answers({**urgent, "country": country or ""})
        sealed_urgent = seal_urgent(coalition, answers_for_duty, secrets.reply.public)
        for_desk = {"answers": answers_for_duty, "sent": True}
    # Every item is padded and signed with the case's key at its position: 1 for the
    # answers, then the files in order (ENVELOPE-v3.md), so the desk sees a complete case.
    answers = seal_case_item(
        _recipients(coalition),
        secrets.signing,
        secrets.reply.public,
        1,
        lambda fields: answers_plaintext(
            BASIC,
            language=language,
            country=country,
            coalition_id=coalition["id"],
            answers={"narrative": message} if message else {},
            case_public_key=secrets.reply.public,
            seal=fields,
            urgent=for_desk,
        ),
    )
    payload: dict[str, Any] = {
        "coalition": coalition["id"],
        "lookup_id": secrets.lookup_id.hex(),
        "reply_public_key": secrets.reply.public.hex(),
        "answers": base64.b64encode(answers).decode("ascii"),
    }
    if sealed_urgent is not None:
        payload["urgent"] = sealed_urgent
    # Creating a case is idempotent per lookup id, so a retry after a drop is safe.
    _check(retrying(lambda: client.post("/api/v1/cases", json=payload), sleep))
    with tempfile.TemporaryDirectory(prefix="aryz-submit-") as work:
        for position, path in enumerate(files, start=2):
            sealed = seal_file(path, coalition, secrets, Path(work), position)
            try:
                upload_item(client, secrets.lookup_id, sealed, sleep)
            finally:
                sealed.unlink(missing_ok=True)
    return token


def status(
    client: httpx.Client,
    token_text: str,
    sleep: Callable[[float], None] = time.sleep,
    trust: Trust | None = None,
) -> dict[str, Any]:
    """The case's status, count of items and replies, opened here (text, or None when a
    reply cannot be opened). The server sends replies sealed; only the token opens them.

    Each status and reply is checked against the coalition's pinned signing key and its
    binding to this case's reply key (audit F-08): ``status_verified`` and
    ``replies_verified`` say which the coalition really sent.
    """
    token = parse_token(token_text)
    info = fetch_info(client, sleep)
    secrets = derive(token, info.limits)
    result = _check(
        retrying(
            lambda: client.post("/api/v1/status", json={"lookup_id": secrets.lookup_id.hex()}),
            sleep,
        )
    )
    sealed = [_decode(r) for r in result.get("replies", [])]
    result["replies"] = [open_reply(s, secrets.reply) if s else None for s in sealed]
    result["status_verified"] = False
    result["replies_verified"] = [False] * len(sealed)
    coalition_id, case_hex = result.get("coalition"), result.get("case")
    if not isinstance(coalition_id, str) or not isinstance(case_hex, str):
        return result
    chosen = trust or Trust()

    def keys_of(cid: str) -> Sequence[bytes] | None:
        entry = next((c for c in info.coalitions if c.get("id") == cid), None)
        if entry is None:
            return None
        try:
            # A key the server substitutes for a pinned one is refused outright; a
            # coalition not pinned yet leaves its records "not verified" (the CLI says so).
            return chosen.signing_keys(entry)
        except NotPinnedError:
            return None

    mine = secrets.reply.public
    result["transfer"] = _transfer(result.get("transfer"), coalition_id, case_hex, mine, keys_of)
    coalition = next((c for c in info.coalitions if c.get("id") == coalition_id), None)
    if coalition is None:
        return result
    try:
        case_ref = bytes.fromhex(case_hex)
    except ValueError:
        return result
    keys = keys_of(coalition_id)
    if keys is not None:
        signed = _signed(result.get("status_signature"))
        result["status_verified"] = signed is not None and is_signed_by_any(
            status_record(coalition_id, case_ref, str(result["status"]), signed, mine),
            signed.signature,
            keys,
        )
        result["answer_by"] = signed.answer_by if result["status_verified"] and signed else None
        result["urgent_verified"] = _urgent_verified(
            result.get("urgent"), coalition, coalition_id, mine, chosen
        )
    signatures = list(result.get("reply_signatures") or [])
    signers = list(result.get("reply_coalitions") or [])
    for index, data in enumerate(sealed):
        signed = _signed(signatures[index]) if index < len(signatures) else None
        # A reply given before the case was passed on is the source coalition's.
        by = signers[index] if index < len(signers) and isinstance(signers[index], str) else None
        signer = by or coalition_id
        signer_keys = keys_of(signer)
        result["replies_verified"][index] = (
            data is not None
            and signed is not None
            and signer_keys is not None
            and is_signed_by_any(
                reply_record(signer, case_ref, data, signed, mine), signed.signature, signer_keys
            )
        )
    return result


def _transfer(
    data: object,
    coalition_id: str,
    case_hex: str,
    mine: bytes,
    keys_of: Callable[[str], Sequence[bytes] | None],
) -> dict[str, Any] | None:
    """The case was passed to ``coalition_id``: from whom, and whether the source's pinned
    key checks the transfer record (otherwise the server's word only)."""
    if not isinstance(data, dict):
        return None
    source = data.get("source")
    if not isinstance(source, str):
        return None
    verified = False
    keys = keys_of(source)
    if keys is not None:
        try:
            signed = Signed(int(data["seq"]), bytes.fromhex(str(data["signature"])), True)
            record = transfer_record(
                source,
                bytes.fromhex(case_hex),
                coalition_id,
                bytes.fromhex(str(data["content"])),
                signed,
                mine,
            )
            verified = is_signed_by_any(record, signed.signature, keys)
        except (KeyError, TypeError, ValueError):
            verified = False
    return {"source": source, "to": coalition_id, "verified": verified}


def _urgent_verified(
    data: object, coalition: dict[str, Any], coalition_id: str, mine: bytes, trust: Trust
) -> bool:
    """Whether the duty officer's acknowledgement (the urgent lane) checks with the duty
    key of the coalition's signed key statement, bound to this family's reply key."""
    if not isinstance(data, dict):
        return False
    try:
        statement = trust.statement(coalition)
        keys = {epoch: verify_key for epoch, _public, verify_key in statement.duty}
        ack = DutyAck(
            coalition=coalition_id,
            urgent=bytes.fromhex(str(data["urgent"])),
            reply_key=mine,
            epoch=int(data["epoch"]),
            seq=int(data["seq"]),
            status=str(data["status"]),
            week=str(data["week"]),
            answer_by=None if data.get("answer_by") is None else str(data["answer_by"]),
        )
        verify_key = keys.get(ack.epoch)
        return verify_key is not None and ack_is_signed(
            ack, bytes.fromhex(str(data["signature"])), verify_key
        )
    except (TrustError, KeyError, TypeError, ValueError, DutyAckError):
        return False


def _signed(data: object) -> Signed | None:
    """A signature the server passed on; only one that names the reply key (``keyed``)
    binds the record to this family's case, so an unkeyed one never verifies here."""
    if not isinstance(data, dict) or data.get("keyed") is not True:
        return None
    try:
        answer_by = data.get("answer_by")
        return Signed(
            int(data["seq"]),
            bytes.fromhex(str(data["signature"])),
            True,
            str(answer_by) if answer_by is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _decode(encoded: object) -> bytes | None:
    try:
        return base64.b64decode(str(encoded), validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return None
