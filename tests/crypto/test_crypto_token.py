"""Case tokens: generation, check digit, parsing of typed input, derivation, Deriver."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.common.crypto.envelope import open_envelope, seal
from service.common.crypto.token import (
    MIN_LIMITS,
    PRODUCTION_LIMITS,
    Deriver,
    KdfLimits,
    TokenSecrets,
    damm_check_digit,
    derive,
    format_token,
    generate_token,
    parse_token,
    stored_lookup_key,
)
from service.common.errors import BusyError, TokenChecksumError, TokenFormatError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "token-v1.json"
SAMPLE_TOKENS = [
    "000000000000000000000000",
    "123456789012345678901238",
    *(generate_token() for _ in range(3)),
]
TOKEN = SAMPLE_TOKENS[1]
ASCII_DIGITS = "0123456789"


def in_script(token: str, zero: str) -> str:
    """Write a token's digits in the script whose digit zero is ``zero``."""
    return "".join(chr(ord(zero) + int(d)) for d in token)


# --- generation and display --------------------------------------------------------


def test_generated_tokens_are_24_digits_with_a_valid_check_digit() -> None:
    tokens = {generate_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 24
        assert all(ch in ASCII_DIGITS for ch in token)
        assert damm_check_digit(token) == 0


def test_format_groups_of_four_and_parse_back() -> None:
    token = generate_token()
    shown = format_token(token)
    assert shown.split(" ") == [token[i : i + 4] for i in range(0, 24, 4)]
    assert parse_token(shown) == token


def test_damm_reference_value() -> None:
    # Worked example from the Damm algorithm's literature: 572 -> check digit 4.
    assert damm_check_digit("572") == 4
    assert damm_check_digit("5724") == 0


# --- the check digit catches typos (exhaustive over a few tokens) ------------------


@pytest.mark.parametrize("token", SAMPLE_TOKENS)
def test_every_single_digit_substitution_is_caught(token: str) -> None:
    for position in range(24):
        for digit in ASCII_DIGITS:
            if digit == token[position]:
                continue
            typo = token[:position] + digit + token[position + 1 :]
            with pytest.raises(TokenChecksumError):
                parse_token(typo)


@pytest.mark.parametrize("token", SAMPLE_TOKENS)
def test_every_adjacent_transposition_is_caught(token: str) -> None:
    swapped_any = False
    for i in range(23):
        if token[i] == token[i + 1]:
            continue
        swapped_any = True
        typo = token[:i] + token[i + 1] + token[i] + token[i + 2 :]
        with pytest.raises(TokenChecksumError):
            parse_token(typo)
    assert swapped_any or token == "0" * 24


# --- reading typed input -----------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        format_token(TOKEN),
        TOKEN,
        "-".join(format_token(TOKEN).split(" ")),
        "1234.5678.9012.3456.7890.1238",
        "1234_5678/9012\u20103456\u20137890\u20141238",
        "\u00a01234\u202f5678\u30009012\t3456\n7890\r\n1238 ",
        in_script(TOKEN, "\u0660"),  # Arabic-Indic
        in_script(TOKEN, "\u06f0"),  # Extended Arabic-Indic (Persian, Urdu)
        in_script(TOKEN, "\u0966"),  # Devanagari
        in_script(TOKEN, "\uff10"),  # fullwidth
        in_script(TOKEN[:12], "\u0660") + TOKEN[12:],  # mixed scripts
    ],
    ids=[
        "groups",
        "canonical",
        "dashes",
        "dots",
        "mixed separators",
        "unicode spaces",
        "arabic-indic",
        "persian",
        "devanagari",
        "fullwidth",
        "mixed",
    ],
)
def test_accepted_spellings(typed: str) -> None:
    assert parse_token(typed) == TOKEN


@pytest.mark.parametrize(
    "bad",
    [
        "O",  # Latin capital O for 0
        "o",
        "l",  # Latin small L for 1
        "I",
        "\u0417",  # Cyrillic Ze, looks like 3
        "\u041e",  # Cyrillic O
        "\u0411",  # Cyrillic Be, looks like 6
        "\u202e",  # right-to-left override
        "\u200e",  # left-to-right mark
        "\u2066",  # left-to-right isolate
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\ufeff",  # byte order mark
        "\x00",
        "\x1c",  # file separator: Python calls it a space, Unicode does not
        "+",
        "#",
        "\u1369",  # Ethiopic digit one: a digit to str.isdigit(), but not a decimal digit
    ],
)
def test_look_alikes_and_invisible_characters_are_refused(bad: str) -> None:
    typed = format_token(TOKEN)
    with pytest.raises(TokenFormatError):
        parse_token(typed[:5] + bad + typed[5:])
    with pytest.raises(TokenFormatError):
        parse_token(typed[:5] + bad + typed[6:])


def test_compatibility_digits_read_as_their_digit() -> None:
    # NFKC comes first (spec 9.2), so superscript and circled forms are the digit itself:
    # never a different digit, so nothing is guessed.
    superscripts = str.maketrans(
        "0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
    )
    assert parse_token(TOKEN.translate(superscripts)) == TOKEN
    assert parse_token("\u2460" + TOKEN[1:]) == TOKEN  # circled digit one


@pytest.mark.parametrize("typed", ["", "   ", TOKEN[:-1], TOKEN + "0", TOKEN * 2])
def test_wrong_number_of_digits_is_a_format_error(typed: str) -> None:
    with pytest.raises(TokenFormatError):
        parse_token(typed)


def test_input_is_capped_at_200_characters() -> None:
    assert parse_token(TOKEN + " " * (200 - 24)) == TOKEN
    with pytest.raises(TokenFormatError):
        parse_token(TOKEN + " " * (201 - 24))
    with pytest.raises(TokenFormatError):
        parse_token("1" * 10**6)


def test_errors_never_echo_the_input() -> None:
    for typed in [TOKEN[:-1] + str((int(TOKEN[-1]) + 1) % 10), TOKEN + "Z", TOKEN[:20]]:
        with pytest.raises((TokenFormatError, TokenChecksumError)) as caught:
            parse_token(typed)
        text = str(caught.value) + repr(caught.value)
        assert TOKEN[:8] not in text
        assert caught.value.message == type(caught.value).message


@settings(max_examples=300)
@given(text=st.text(max_size=250))
def test_parser_only_returns_canonical_tokens_or_our_errors(text: str) -> None:
    try:
        token = parse_token(text)
    except (TokenFormatError, TokenChecksumError):
        return
    assert len(token) == 24
    assert all(ch in ASCII_DIGITS for ch in token)
    assert damm_check_digit(token) == 0


# --- derivation --------------------------------------------------------------------


def test_derivation_is_deterministic_and_separates_tokens() -> None:
    first = derive(TOKEN, MIN_LIMITS)
    assert derive(TOKEN, MIN_LIMITS) == first
    other = derive(SAMPLE_TOKENS[0], MIN_LIMITS)
    assert other.lookup_id != first.lookup_id
    assert other.reply.public != first.reply.public
    assert first.lookup_id != first.reply.public
    assert len(first.lookup_id) == 32


def test_derivation_depends_on_the_cost_parameters() -> None:
    cheap = derive(TOKEN, MIN_LIMITS)
    costlier = derive(TOKEN, KdfLimits(MIN_LIMITS.opslimit + 1, MIN_LIMITS.memlimit))
    assert cheap.lookup_id != costlier.lookup_id


def test_reply_key_pair_opens_what_is_sealed_to_it() -> None:
    secrets_ = derive(TOKEN, MIN_LIMITS)
    sealed = seal(b"we received your report", [secrets_.reply.public])
    again = derive(parse_token(format_token(TOKEN)), MIN_LIMITS)
    assert open_envelope(sealed, [again.reply]) == b"we received your report"


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (format_token(TOKEN), TokenFormatError),  # not canonical: callers parse first
        (in_script(TOKEN, "\u0660"), TokenFormatError),
        (TOKEN[:-1] + str((int(TOKEN[-1]) + 1) % 10), TokenChecksumError),
    ],
)
def test_derive_insists_on_a_canonical_token(token: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        derive(token, MIN_LIMITS)


def test_secrets_repr_hides_the_lookup_id() -> None:
    secrets_ = derive(TOKEN, MIN_LIMITS)
    assert secrets_.lookup_id.hex() not in repr(secrets_)
    assert isinstance(secrets_, TokenSecrets)


def test_production_limits_are_memory_hard() -> None:
    # Not run here: it is the cost an attacker with the database pays per guess.
    assert PRODUCTION_LIMITS.memlimit >= 64 * 1024 * 1024
    assert PRODUCTION_LIMITS.opslimit >= 3


def test_stored_lookup_key_is_keyed_by_the_pepper() -> None:
    lookup_id = derive(TOKEN, MIN_LIMITS).lookup_id
    pepper = b"p" * 32
    stored = stored_lookup_key(lookup_id, pepper)
    assert len(stored) == 32
    assert stored == stored_lookup_key(lookup_id, pepper)
    assert stored != stored_lookup_key(lookup_id, b"q" * 32)
    assert stored != lookup_id
    for bad_pepper in (b"p" * 31, b"p" * 65):
        with pytest.raises(ValueError, match="pepper"):
            stored_lookup_key(lookup_id, bad_pepper)
    with pytest.raises(ValueError, match="lookup id"):
        stored_lookup_key(lookup_id[:31], pepper)


def test_committed_token_vectors() -> None:
    # Pins the derivation: a change here would orphan every existing case.
    data = json.loads(VECTORS.read_text(encoding="ascii"))
    pepper = bytes.fromhex(data["pepper"])
    assert len(data["tokens"]) >= 4
    for entry in data["tokens"]:
        token = entry["token"]
        assert parse_token(entry["display"]) == token
        expected = entry["min"]
        assert (expected["opslimit"], expected["memlimit"]) == (
            MIN_LIMITS.opslimit,
            MIN_LIMITS.memlimit,
        )
        secrets_ = derive(token, MIN_LIMITS)
        assert secrets_.lookup_id.hex() == expected["lookup_id"]
        assert secrets_.reply.public.hex() == expected["reply_public"]
        assert stored_lookup_key(secrets_.lookup_id, pepper).hex() == expected["stored_lookup_key"]
        production = entry["production"]
        assert (production["opslimit"], production["memlimit"]) == (
            PRODUCTION_LIMITS.opslimit,
            PRODUCTION_LIMITS.memlimit,
        )


# --- bounded concurrency -----------------------------------------------------------


class Gate:
    """A derivation that blocks until released, to hold a Deriver slot deterministically."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def work(self, token: str, limits: KdfLimits) -> TokenSecrets:
        self.started.release()
        self.release.wait(timeout=30)
        return derive(token, limits)


def test_deriver_runs_the_real_derivation() -> None:
    deriver = Deriver(MIN_LIMITS, max_concurrent=2, max_waiting=2)
    assert anyio.run(deriver.derive, TOKEN) == derive(TOKEN, MIN_LIMITS)


def test_deriver_refuses_at_once_when_no_one_may_wait() -> None:
    gate = Gate()
    deriver = Deriver(MIN_LIMITS, max_concurrent=1, max_waiting=0, work=gate.work)
    results: list[TokenSecrets] = []

    async def scenario() -> None:
        async def first() -> None:
            results.append(await deriver.derive(TOKEN))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(first)
                await anyio.to_thread.run_sync(gate.started.acquire)
                with pytest.raises(BusyError):
                    await deriver.derive(TOKEN)
                gate.release.set()
        finally:
            gate.release.set()

    anyio.run(scenario)
    assert results == [derive(TOKEN, MIN_LIMITS)]


def test_deriver_lets_max_waiting_callers_queue_then_refuses() -> None:
    gate = Gate()
    deriver = Deriver(MIN_LIMITS, max_concurrent=1, max_waiting=1, work=gate.work)
    results: list[TokenSecrets] = []

    async def scenario() -> None:
        async def caller() -> None:
            results.append(await deriver.derive(TOKEN))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(caller)
                await anyio.to_thread.run_sync(gate.started.acquire)
                tg.start_soon(caller)  # admitted: waits for the one slot
                await anyio.wait_all_tasks_blocked()
                with pytest.raises(BusyError):
                    await deriver.derive(TOKEN)
                gate.release.set()
        finally:
            gate.release.set()
        # Once the queue has drained, new callers are admitted again.
        results.append(await deriver.derive(TOKEN))

    anyio.run(scenario)
    assert len(results) == 3


def test_deriver_refuses_nonsense_bounds() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        Deriver(MIN_LIMITS, max_concurrent=0, max_waiting=1)
    with pytest.raises(ValueError, match="max_concurrent"):
        Deriver(MIN_LIMITS, max_concurrent=1, max_waiting=-1)
