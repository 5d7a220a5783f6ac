"""The in-memory spent set behind single-use form state (audit F-14)."""

from __future__ import annotations

import pytest

from service.common.crypto import formstate
from service.common.crypto.formstate import FormStateKey
from service.common.errors import FormStateError

CONTEXT = b"q\n1\nd"


def test_claim_is_single_use_per_tag_and_forgotten_when_the_blob_expires() -> None:
    now = [1_000_000 * 3600.0]
    key = FormStateKey(max_age_hours=24, clock=lambda: now[0])
    blob = key.seal(b"answers", context=CONTEXT)
    assert key.open(blob, context=CONTEXT) == b"answers"  # not spent: opens as often as needed
    assert key.open(blob, context=CONTEXT) == b"answers"
    assert key.claim(blob, context=CONTEXT, tag=b"token-a") == b"answers"
    assert key.claim(blob, context=CONTEXT, tag=b"token-a") == b"answers"  # a re-sent page
    with pytest.raises(FormStateError):
        key.claim(blob, context=CONTEXT, tag=b"token-b")
    with pytest.raises(FormStateError):
        key.open(blob, context=CONTEXT)
    other = key.seal(b"other", context=CONTEXT)
    assert key.open(other, context=CONTEXT) == b"other"  # one blob's claim spends only it
    assert key.spent_count == 1
    # The entry lives exactly as long as the blob could open, then is forgotten.
    now[0] += 26 * 3600
    with pytest.raises(FormStateError):
        key.open(blob, context=CONTEXT)  # expired anyway
    key.seal(b"x", context=CONTEXT)
    with pytest.raises(FormStateError):
        key.claim(other, context=CONTEXT, tag=b"t")
    assert key.spent_count == 0


def test_a_fresh_key_after_a_restart_opens_no_old_blob() -> None:
    blob = FormStateKey().seal(b"answers", context=CONTEXT)
    with pytest.raises(FormStateError):
        FormStateKey().claim(blob, context=CONTEXT, tag=b"t")


def test_the_spent_set_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formstate, "MAX_SPENT", 3)
    key = FormStateKey()
    blobs = [key.seal(bytes([i]), context=CONTEXT) for i in range(5)]
    for blob in blobs:
        key.claim(blob, context=CONTEXT, tag=b"t")
    assert key.spent_count == 3
