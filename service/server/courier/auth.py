"""Courier authentication: one-time challenges and signed requests.

A courier asks for a challenge, then signs its next request over the method, path,
challenge and SHA-256 of the body (``service.common.contract.courier_auth``). The challenge is
stored as a hash in the database, so every app instance sharing one PostgreSQL accepts
it, and is deleted by the first request that presents it — with one atomic DELETE, so
two requests racing with one challenge cannot both win. No clock is involved: instead
of expiring, challenges are bounded in number and the oldest are swept.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select

from service.common.contract import courier_auth
from service.common.crypto.keys import generate_signing_keypair, verify
from service.common.errors import EnvelopeKeyError
from service.server.courier.errors import CourierAuthError
from service.server.deps import Runtime
from service.server.models import CourierChallenge
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction

CHALLENGE_BYTES = 32
# Outstanding challenges kept; beyond this the oldest go. Couriers use theirs within
# seconds, so only an unanswered flood could push a real one out (it then asks again).
MAX_OUTSTANDING = 10_000
# Checked against when the key id is unknown, so that path does the same work.
_NOBODY = generate_signing_keypair().verify


def _digest(challenge: bytes) -> bytes:
    return hashlib.sha256(b"aryz-courier-challenge-v1\n" + challenge).digest()


def issue_challenge(runtime: Runtime) -> bytes:
    """A fresh random challenge, stored hashed; sweeps the oldest beyond the bound."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    with transaction(runtime.sessions) as session:
        session.add(CourierChallenge(digest=_digest(challenge)))
        session.flush()
        cutoff = session.scalar(
            select(CourierChallenge.id)
            .order_by(CourierChallenge.id.desc())
            .offset(MAX_OUTSTANDING)
            .limit(1)
        )
        if cutoff is not None:
            session.execute(delete(CourierChallenge).where(CourierChallenge.id <= cutoff))
    return challenge


def _consume(runtime: Runtime, challenge: bytes) -> bool:
    """Delete the challenge; True only for the one request that deleted it."""
    with transaction(runtime.sessions) as session:
        result = session.execute(
            delete(CourierChallenge).where(CourierChallenge.digest == _digest(challenge))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def authenticate(
    runtime: Runtime, header: str | None, method: str, path: str, body: bytes
) -> CoalitionEntry:
    """The coalition whose courier signed this request, or :class:`CourierAuthError`.

    The challenge is consumed by any request that names it, signed well or not: a
    challenge is good for one attempt, and a failed request cannot be retried with it.
    Every failure is the same error, whatever was wrong.
    """
    proof = courier_auth.parse(header)
    if proof is None:
        raise CourierAuthError()
    fresh = _consume(runtime, proof.challenge)
    found = runtime.registry.courier(proof.key_id)
    signed = courier_auth.message(method, path, proof.challenge, body)
    try:
        verify(found[1] if found else _NOBODY, signed, proof.signature)
    except EnvelopeKeyError:
        raise CourierAuthError() from None
    if found is None or not fresh:
        raise CourierAuthError()
    return found[0]
