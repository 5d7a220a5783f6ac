"""Recovery shares: any M of N paper shares open the desk's backups without the passphrase.

The coalition draws a random 128-bit **recovery secret** and splits it with SLIP-39
(the ``shamir-mnemonic`` library: Shamir's secret sharing over GF(256) with a checksum
per share, each share printed as 20 words from a fixed list). Fewer than M shares say
nothing about the secret. From the secret the desk derives the **recovery key**
(BLAKE2b-256, keyed, domain-separated); the desk keeps that key in its encrypted store
(``meta`` "recovery"), not the secret and not the shares, and every backup carries the
desk's secret keys wrapped under it (``service.common.crypto.wrap`` value v1, bound to the
desk's public keys). So:

- a seized **share** (fewer than M) reveals nothing about any key;
- M shares open every backup made since those shares were drawn, like the passphrase;
- drawing new shares replaces the recovery key: backups made from then on open only with
  the new shares (older backups still open with the older shares).

No home-made field arithmetic: splitting and combining are the library's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

import shamir_mnemonic

from service.common.crypto.hashing import blake2b_256
from service.desk.errors import DeskError

SECRET_LEN = 16  # 128 bits: 20 words per share
MAX_SHARES = 16  # SLIP-39's limit per group
_KEY_DOMAIN = b"aryz-desk recovery key v1"
_WORD = re.compile(r"[a-z]+")


class RecoveryOptionError(DeskError):
    code = "recovery_option"
    message = (
        "Choose how many shares to make (2 to 16) and how many of them restore the desk "
        "(2 up to that number)."
    )


class RecoverySharesError(DeskError):
    code = "recovery_shares"
    message = (
        "The recovery shares were not accepted: a word is mistyped, a share belongs to "
        "another set, or too few shares were given."
    )


def check_counts(threshold: int, count: int) -> None:
    if not 2 <= count <= MAX_SHARES or not 2 <= threshold <= count:
        raise RecoveryOptionError()


def recovery_key(secret: bytes) -> bytes:
    """The key that wraps the desk's secrets in each backup."""
    return blake2b_256(_KEY_DOMAIN, key=secret)


def split(threshold: int, count: int) -> tuple[bytes, list[str]]:
    """Draw a new recovery secret; return its key and ``count`` shares (words)."""
    check_counts(threshold, count)
    secret = secrets.token_bytes(SECRET_LEN)
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, count)], secret)
    shares = [str(share) for share in groups[0]]
    return recovery_key(secret), shares


def normalise_share(text: str) -> str:
    """A share as typed: case, extra spaces and line breaks do not matter."""
    return " ".join(_WORD.findall(text.lower()))


def threshold_of(share: str) -> int:
    """How many shares of this share's set restore the secret."""
    try:
        return int(shamir_mnemonic.Share.from_mnemonic(normalise_share(share)).member_threshold)
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError, IndexError):
        raise RecoverySharesError() from None


def combine(shares: Sequence[str]) -> bytes:
    """The recovery key from at least M shares of one set."""
    try:
        secret = shamir_mnemonic.combine_mnemonics([normalise_share(s) for s in shares])
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError, IndexError):
        raise RecoverySharesError() from None
    if len(secret) != SECRET_LEN:
        raise RecoverySharesError()
    return recovery_key(secret)
