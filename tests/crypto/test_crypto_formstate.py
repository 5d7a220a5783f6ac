"""Sealed form state: opens only in the process that sealed it, for its questionnaire,
while fresh; anything else is one fixed error."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.common.crypto.formstate import FormStateKey
from service.common.errors import FormStateError

CONTEXT = b"istanbul\n1\nabc"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_round_trip_and_fresh_nonce_each_time() -> None:
    key = FormStateKey()
    first, second = key.seal(b"answers", context=CONTEXT), key.seal(b"answers", context=CONTEXT)
    assert first != second
    assert key.open(first, context=CONTEXT) == b"answers"
    assert b"answers" not in base64.urlsafe_b64decode(first)


@given(st.binary(max_size=2000))
def test_any_bytes_round_trip(data: bytes) -> None:
    key = FormStateKey()
    assert key.open(key.seal(data, context=CONTEXT), context=CONTEXT) == data


def test_every_flipped_byte_is_refused() -> None:
    key = FormStateKey()
    raw = bytearray(base64.urlsafe_b64decode(key.seal(b"some answers", context=CONTEXT)))
    for index in range(len(raw)):
        raw[index] ^= 0x01
        with pytest.raises(FormStateError):
            key.open(base64.urlsafe_b64encode(bytes(raw)).decode(), context=CONTEXT)
        raw[index] ^= 0x01


@pytest.mark.parametrize("blob", ["", "not base64 !", "Rj" * 3, "щ", "F1" + "A" * 80])
def test_garbage_is_refused(blob: str) -> None:
    with pytest.raises(FormStateError):
        FormStateKey().open(blob, context=CONTEXT)


def test_truncated_and_extended_are_refused() -> None:
    key = FormStateKey()
    raw = base64.urlsafe_b64decode(key.seal(b"some answers", context=CONTEXT))
    for bad in (raw[:-1], raw + b"\x00"):
        with pytest.raises(FormStateError):
            key.open(base64.urlsafe_b64encode(bad).decode(), context=CONTEXT)


def test_another_process_key_cannot_open() -> None:
    # What a restart does: a new key, so every page in flight is refused, not misread.
    blob = FormStateKey().seal(b"answers", context=CONTEXT)
    with pytest.raises(FormStateError):
        FormStateKey().open(blob, context=CONTEXT)


def test_bound_to_the_questionnaire() -> None:
    key = FormStateKey()
    blob = key.seal(b"answers", context=CONTEXT)
    with pytest.raises(FormStateError):
        key.open(blob, context=b"istanbul\n2\nabc")


def test_expires_after_max_age_and_refuses_the_future() -> None:
    clock = Clock()
    key = FormStateKey(max_age_hours=24, clock=clock)
    blob = key.seal(b"answers", context=CONTEXT)
    clock.now += 23 * 3600
    assert key.open(blob, context=CONTEXT) == b"answers"
    clock.now += 2 * 3600
    with pytest.raises(FormStateError):
        key.open(blob, context=CONTEXT)
    clock.now -= 30 * 3600  # the clock stepped back far: the blob is "from the future"
    with pytest.raises(FormStateError):
        key.open(blob, context=CONTEXT)


def test_the_key_is_not_shown() -> None:
    key = FormStateKey()
    assert "in memory" in repr(key)
    assert key._secret._seed.hex() not in repr(key)  # noqa: SLF001 - checking it stays hidden
