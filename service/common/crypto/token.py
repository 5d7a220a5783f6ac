"""The case token: what a submitter keeps to come back to their case.

24 decimal digits, shown as 6 groups of 4: 23 random digits (about 76 bits from the OS
CSPRNG) and a Damm check digit, so a typo is caught before any lookup. Digits only, so it
can be written in any script and passes as a phone number. The server never stores it:
an Argon2id derivation (64 MiB) yields a lookup id and the case's reply key pair, and the
server keeps only a peppered hash of the lookup id (see ENVELOPE-v1.md, "Case token").
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from nacl.pwhash import argon2id

from service.common.contract.vocabulary import (
    TOKEN_KDF_MEMLIMIT_FLOOR,
    TOKEN_KDF_OPSLIMIT_FLOOR,
)
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import (
    BoxKeyPair,
    SigningKeyPair,
    box_keypair_from_seed,
    signing_keypair_from_seed,
)
from service.common.errors import BusyError, TokenChecksumError, TokenFormatError

TOKEN_DIGITS = 24
RANDOM_DIGITS = TOKEN_DIGITS - 1
GROUP = 4
MAX_INPUT_CHARS = 200

# Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004): with it one
# check digit catches every single-digit error and every adjacent transposition.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Characters a person or a phone may put between digit groups. Everything else that is
# not a digit is refused, never guessed: "O" for 0 or "l" for 1 could match someone
# else's case, and invisible or bidi characters can make a token look unlike its digits.
_SEPARATORS = frozenset("-._/\u2010\u2011\u2012\u2013\u2014\u2015")
_WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r\x85")  # with Zs/Zl/Zp: Unicode White_Space

_PASSWORD_PREFIX = b"aryz-case-token-v1:"
# A fixed salt is sound here: the token itself carries 76 random bits, so there is no
# dictionary to precompute; the salt only separates this use of Argon2id from others.
_SALT = blake2b_256(b"aryz/case-token/v1/salt")[: argon2id.SALTBYTES]
_MASTER_LEN = 64
_LOOKUP_INFO = b"aryz lookup v1"
_REPLY_INFO = b"aryz reply v1"
_SIGNING_INFO = b"aryz item signing v1"
LOOKUP_ID_LEN = 32
PEPPER_MIN, PEPPER_MAX = 32, 64


def damm_check_digit(digits: str) -> int:
    """Return the Damm check digit of a string of ASCII digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - ord("0")]
    return interim


def generate_token() -> str:
    """Return a new canonical token: 24 ASCII digits, the last one a check digit."""
    body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return body + str(damm_check_digit(body))


def format_token(digits: str) -> str:
    """Return a canonical token as 6 groups of 4 digits separated by spaces."""
    _require_canonical(digits)
    return " ".join(digits[i : i + GROUP] for i in range(0, TOKEN_DIGITS, GROUP))


def parse_token(text: str) -> str:
    """Read a token as typed or pasted; return its canonical 24 ASCII digits.

    Accepts decimal digits of any script (Arabic-Indic, Devanagari, fullwidth, ...) and
    ignores whitespace, ``- . _ /`` and Unicode dashes between them. Raises
    :class:`TokenFormatError` for any other character or a wrong number of digits, and
    :class:`TokenChecksumError` when the check digit shows a typo. Errors never quote
    the input.
    """
    # Cap first, so normalisation and the loop below do bounded work on hostile input.
    if not isinstance(text, str) or len(text) > MAX_INPUT_CHARS:
        raise TokenFormatError()
    digits = []
    for ch in unicodedata.normalize("NFKC", text):
        if unicodedata.category(ch) == "Nd":
            digits.append(str(unicodedata.decimal(ch)))
        elif not _is_separator(ch):
            raise TokenFormatError()
    token = "".join(digits)
    _require_canonical(token)
    return token


def _is_separator(ch: str) -> bool:
    return (
        ch in _SEPARATORS
        or ch in _WHITESPACE_CONTROLS
        or unicodedata.category(ch) in ("Zs", "Zl", "Zp")
    )


def _require_canonical(token: str) -> None:
    # Explicit ASCII set: str.isdigit() would also accept superscripts and other scripts.
    if len(token) != TOKEN_DIGITS or any(ch not in "0123456789" for ch in token):
        raise TokenFormatError()
    if damm_check_digit(token) != 0:
        raise TokenChecksumError()


@dataclass(frozen=True)
class KdfLimits:
    """Argon2id cost: ``opslimit`` passes over ``memlimit`` bytes."""

    opslimit: int
    memlimit: int


# The production floor (defined once, in the shared vocabulary).
PRODUCTION_LIMITS = KdfLimits(TOKEN_KDF_OPSLIMIT_FLOOR, TOKEN_KDF_MEMLIMIT_FLOOR)
# Only for tests: these make a derivation take milliseconds and protect nothing.
MIN_LIMITS = KdfLimits(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)


@dataclass(frozen=True)
class TokenSecrets:
    """What a token unlocks: the case's lookup id, its reply key pair and the Ed25519 key
    pair that signs each item sealed into the case (ENVELOPE-v3.md §3)."""

    lookup_id: bytes
    reply: BoxKeyPair
    signing: SigningKeyPair

    def __repr__(self) -> str:
        # Both fields stand in for the token; keep them out of tracebacks and logs.
        return "TokenSecrets(...)"


def derive(token: str, limits: KdfLimits) -> TokenSecrets:
    """Derive a case's lookup id and reply key pair from its canonical token.

    Slow on purpose (Argon2id): someone holding a copy of the database must pay this cost
    for every guess. ``token`` must already be canonical (see :func:`parse_token`).
    """
    _require_canonical(token)
    master = argon2id.kdf(
        _MASTER_LEN,
        _PASSWORD_PREFIX + token.encode("ascii"),
        _SALT,
        opslimit=limits.opslimit,
        memlimit=limits.memlimit,
    )
    # Independent outputs from one costly derivation, separated by their labels.
    lookup_id = blake2b_256(_LOOKUP_INFO, key=master)
    reply_seed = blake2b_256(_REPLY_INFO, key=master)
    signing_seed = blake2b_256(_SIGNING_INFO, key=master)
    return TokenSecrets(
        lookup_id=lookup_id,
        reply=box_keypair_from_seed(reply_seed),
        signing=signing_keypair_from_seed(signing_seed),
    )


def stored_lookup_key(lookup_id: bytes, pepper: bytes) -> bytes:
    """Return the value the server stores for a case: BLAKE2b-256 keyed with the pepper.

    The pepper lives outside the database, so a stolen database alone does not even
    allow testing token guesses.
    """
    if len(lookup_id) != LOOKUP_ID_LEN:
        raise ValueError("a lookup id is 32 bytes")
    if not PEPPER_MIN <= len(pepper) <= PEPPER_MAX:
        raise ValueError("the pepper must be 32 to 64 bytes")
    return blake2b_256(lookup_id, key=pepper)


class Deriver:
    """Run derivations in worker threads, a bounded number at a time.

    Each derivation holds 64 MiB for a noticeable time, so an unbounded number would let
    anyone exhaust the server's memory. At most ``max_concurrent`` run at once and at most
    ``max_waiting`` wait for a slot; a caller beyond that gets :class:`BusyError` at once.
    ``work`` is the derivation to run; tests replace it to hold a slot open.
    """

    def __init__(
        self,
        limits: KdfLimits,
        max_concurrent: int,
        max_waiting: int,
        *,
        work: Callable[[str, KdfLimits], TokenSecrets] = derive,
    ) -> None:
        """Set the cost of each derivation and the bounds on how many run and wait."""
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("need max_concurrent >= 1 and max_waiting >= 0")
        self._limits = limits
        self._work = work
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._capacity = max_concurrent + max_waiting
        self._admitted = 0  # running plus waiting

    async def derive(self, token: str, limits: KdfLimits | None = None) -> TokenSecrets:
        """Derive the secrets of ``token`` in a worker thread (with ``limits``, or the
        current ones); raise BusyError if full."""
        # Check and count before the first await, so no other task on this event loop can
        # slip in between them.
        if self._admitted >= self._capacity:
            raise BusyError()
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(
                self._work, token, limits or self._limits, limiter=self._limiter
            )
        finally:
            self._admitted -= 1
