"""The item payload inside an envelope: length-prefixed JSON metadata, then the body."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.common.crypto.payload import (
    MAX_META_LEN,
    PayloadReader,
    encode_payload_prefix,
    split_payload,
)
from service.common.errors import EnvelopeFormatError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
metas = st.dictionaries(st.text().filter(lambda k: k not in {"type", "created"}), json_values)


def raw(meta_bytes: bytes, body: bytes = b"") -> bytes:
    return len(meta_bytes).to_bytes(4, "big") + meta_bytes + body


@given(meta=metas, body=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 10**5)))
def test_round_trip_in_any_pieces(meta: dict[str, object], body: bytes, cuts: list[int]) -> None:
    plaintext = encode_payload_prefix(meta) + body
    assert split_payload(plaintext) == (meta, body)
    points = [0, *sorted(c % (len(plaintext) + 1) for c in cuts), len(plaintext)]
    reader = PayloadReader()
    out = b"".join(reader.feed(plaintext[a:b]) for a, b in zip(points, points[1:], strict=False))
    reader.close()
    assert reader.meta == meta
    assert out == body


def test_prefix_is_compact_sorted_json() -> None:
    meta = {
        "type": "file",
        "name": "قرار.pdf",
        "created": "2026-W47",
        "media_type": "application/pdf",
    }
    prefix = encode_payload_prefix(meta)
    expected = (
        '{"created":"2026-W47","media_type":"application/pdf","name":"قرار.pdf","type":"file"}'
    )
    assert prefix == raw(expected.encode("utf-8"))


def test_metadata_is_known_only_when_complete() -> None:
    reader = PayloadReader()
    prefix = encode_payload_prefix({"type": "message"})
    assert reader.feed(prefix[:-1]) == b""
    assert reader.meta is None
    with pytest.raises(EnvelopeFormatError):
        reader.close()
    assert reader.feed(prefix[-1:] + b"body") == b"body"
    assert reader.meta == {"type": "message"}


@pytest.mark.parametrize(
    "meta",
    [
        {"type": "video"},
        {"created": "2026-11-23T10:15:00Z"},  # a precise time must never be written
        {"created": "2026-W54"},
        {"x": float("nan")},
        {"x": "\ud800"},
        {"x": "a" * MAX_META_LEN},
    ],
    ids=["unknown type", "precise time", "week 54", "NaN", "lone surrogate", "too large"],
)
def test_encoder_refuses(meta: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        encode_payload_prefix(meta)


def test_largest_metadata_is_accepted() -> None:
    meta = {"x": "a" * (MAX_META_LEN - len('{"x":""}'))}
    prefix = encode_payload_prefix(meta)
    assert len(prefix) == 4 + MAX_META_LEN
    assert split_payload(prefix) == (meta, b"")
    with pytest.raises(ValueError, match="64 KiB"):
        encode_payload_prefix({"x": "a" * (MAX_META_LEN + 1 - len('{"x":""}'))})


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x00\x00\x00",
        raw(b'{"a":1}')[:-1],
        (MAX_META_LEN + 1).to_bytes(4, "big") + b"{}",
        raw(b"\xff\xfe"),
        raw(b"{'a': 1}"),
        raw(b"[1, 2]"),
        raw(b'"text"'),
        raw(b""),
        raw(b'{"a":NaN}'),
        raw(b'{"a":Infinity}'),
        raw(b'{"a":1,"a":2}'),
        raw(b'{"a":{"b":1,"b":1}}'),
        raw(b'{"a":"\\ud800"}'),
        raw(b"[" * 60000 + b"]" * 60000),
    ],
    ids=[
        "empty",
        "short length",
        "short metadata",
        "metadata over 64 KiB",
        "bad UTF-8",
        "not JSON",
        "array",
        "string",
        "zero length",
        "NaN",
        "Infinity",
        "duplicate key",
        "nested duplicate key",
        "lone surrogate",
        "deep nesting",
    ],
)
def test_reader_refuses_malformed_payloads(plaintext: bytes) -> None:
    with pytest.raises(EnvelopeFormatError) as caught:
        split_payload(plaintext)
    assert caught.value.message in {
        "The sealed item's metadata is not valid.",
        "The sealed item ends inside its metadata.",
    }


def test_oversized_length_is_refused_before_buffering() -> None:
    reader = PayloadReader()
    with pytest.raises(EnvelopeFormatError):
        reader.feed((2**32 - 1).to_bytes(4, "big"))


def test_body_passes_through_unparsed() -> None:
    body = b'\x00{"type":"file"}\xff' * 100
    meta, out = split_payload(encode_payload_prefix({"type": "file"}) + body)
    assert out == body
    assert json.dumps(meta) == '{"type": "file"}'
