"""The desk passphrase: how it is normalised, judged and suggested.

Everything on the desk hangs on one passphrase, stretched with Argon2id at libsodium's
"sensitive" limits. Whoever copies the desk folder can try guesses offline, each costing
about a second and 1 GiB, so the passphrase itself must carry real entropy: 7 random
words from the list beside this file give about 78 bits.

Rules (kept simple so staff can follow them):

- It is normalised before use (Unicode NFKC, runs of whitespace become one space, ends
  stripped), so the same words typed on another keyboard or with a double space still
  unlock the desk. Case is kept.
- It needs at least 20 characters and 5 distinct words (split on spaces and ``-_.,;:!?/``).
- Its estimated entropy must reach 50 bits: a word from the list counts log2(list size)
  (about 11 bits); any other word counts 2.5 bits per distinct character, at most 20.
  This is a rough guard against "aaaa bbbb cccc dddd eeee" and short sentences, not a
  proof of strength; a suggested passphrase is what staff should use.

``words.json`` is a list written for Aryz: about 2,400 common English words of 3 to 9 letters,
sorted, avoiding words about violence, detention or grief (a passphrase is repeated
often). It is ours, under the project's licence.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import unicodedata
from functools import cache
from pathlib import Path

from service.common.errors import WeakPassphraseError

WORDS_PATH = Path(__file__).resolve().parent / "words.json"
SUGGESTED_WORDS = 7
MIN_CHARS = 20
MIN_WORDS = 5
MIN_BITS = 50.0
_OTHER_WORD_BITS_PER_CHAR = 2.5
_OTHER_WORD_MAX_BITS = 20.0
_SPLIT = re.compile(r"[\s\-_.,;:!?/]+")


@cache
def word_list() -> tuple[str, ...]:
    """The suggestion word list (read once)."""
    words = json.loads(WORDS_PATH.read_text(encoding="utf-8"))
    return tuple(str(w) for w in words)


def normalise(passphrase: str) -> str:
    """Return the form of ``passphrase`` that is actually stretched into the key."""
    return " ".join(unicodedata.normalize("NFKC", passphrase).split())


def estimate_bits(passphrase: str) -> float:
    """A rough, deliberately conservative entropy estimate (see the module docstring)."""
    known = set(word_list())
    per_list_word = math.log2(len(known))
    bits = 0.0
    for word in _distinct_words(passphrase):
        if word in known:
            bits += per_list_word
        else:
            bits += min(_OTHER_WORD_BITS_PER_CHAR * len(set(word)), _OTHER_WORD_MAX_BITS)
    return bits


def check_strength(passphrase: str) -> None:
    """Raise :class:`WeakPassphraseError` unless the passphrase meets the rules."""
    text = normalise(passphrase)
    if (
        len(text) < MIN_CHARS
        or len(_distinct_words(text)) < MIN_WORDS
        or estimate_bits(text) < MIN_BITS
    ):
        raise WeakPassphraseError()


def suggest(words: int = SUGGESTED_WORDS) -> str:
    """Return ``words`` distinct words drawn with the OS CSPRNG, separated by spaces.

    Distinct, because a repeated word adds nothing an attacker has to guess (and the
    strength check counts it once): 7 of 2,406 without repetition is still > 77 bits.
    """
    return " ".join(secrets.SystemRandom().sample(word_list(), words))


def _distinct_words(passphrase: str) -> list[str]:
    # Repeating a word adds nothing an attacker has to guess.
    seen: dict[str, None] = {}
    for word in _SPLIT.split(normalise(passphrase).lower()):
        if word:
            seen.setdefault(word, None)
    return list(seen)
