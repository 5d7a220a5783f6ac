"""Property tests for the outbox reader (service.common.contract.outbox): whatever a seized or
buggy courier machine pushes is an OutboxError or a fully verified outbox, never another
exception; what the desk encodes decodes to the same records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.common.contract.outbox import OutboxError, Record, decode, encode
from service.common.contract.vocabulary import STATUSES
from service.common.crypto.keys import generate_signing_keypair

SIGNER = generate_signing_keypair()
KEYS = {"kz": SIGNER.verify}

hex16 = st.binary(min_size=16, max_size=16).map(bytes.hex)
records = st.one_of(
    st.builds(
        Record,
        st.just("status"),
        st.just("kz"),
        hex16,
        st.integers(1, 2**53),
        status=st.sampled_from(STATUSES),
    ),
    st.builds(
        Record,
        st.just("reply"),
        st.just("kz"),
        hex16,
        st.integers(1, 2**53),
        reply=st.binary(min_size=1, max_size=300),
    ),
    st.builds(
        Record,
        st.just("ack"),
        st.just("kz"),
        hex16,
        st.integers(1, 2**53),
        items=st.lists(hex16, min_size=1, max_size=3).map(tuple),
    ),
)


@given(st.lists(records, min_size=1, max_size=5))
def test_encoded_outbox_decodes_to_the_same_records(sent: list[Record]) -> None:
    outbox = decode(encode("kz", sent, SIGNER.seed), KEYS)
    assert outbox.coalition == "kz"
    assert list(outbox.records) == sent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def damaged_outboxes(draw: st.DrawFn) -> bytes:
    """A real signed outbox with a few values swapped for arbitrary JSON."""
    document: dict[str, Any] = json.loads(
        encode("kz", draw(st.lists(records, min_size=1, max_size=3)), SIGNER.seed)
    )
    for _ in range(draw(st.integers(1, 3))):
        record = draw(st.sampled_from(document["records"]))
        targets = [document, record, record.get("body") if isinstance(record, dict) else None]
        target = draw(st.sampled_from([t for t in targets if isinstance(t, dict) and t]))
        target[draw(st.sampled_from(sorted(target)))] = draw(json_values)
        if not isinstance(document.get("records"), list) or not document["records"]:
            break
    text = json.dumps(document)
    if draw(st.booleans()):  # numbers Python's JSON reader accepts: inf, nan
        text = text.replace('"seq": 1', '"seq": ' + draw(st.sampled_from(["1e999", "NaN"])), 1)
    return text.encode()


@settings(max_examples=100)
@given(
    st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        damaged_outboxes(),
    )
)
def test_any_outbox_bytes_decode_or_raise_outbox_error(raw: bytes) -> None:
    try:
        outbox = decode(raw, KEYS)
    except OutboxError as error:
        refused: OutboxError | None = error
    else:
        refused = None
    if refused is not None:
        assert refused.__cause__ is None  # nothing from the input chained on
        return
    # Accepted only if every record still carries a good signature over its body.
    assert outbox.records
    assert all(r.coalition == "kz" for r in outbox.records)


def test_an_infinite_sequence_number_is_refused() -> None:
    sent = encode("kz", [Record("status", "kz", "ab" * 16, 1, status="closed")], SIGNER.seed)
    raw = sent.replace(b'"seq": 1', b'"seq": 1e999')
    assert raw != sent
    with pytest.raises(OutboxError):
        decode(raw, KEYS)
