"""The strict JSON reader (service/common/crypto/strictjson.py, ENVELOPE-v1.md §8.1): it reads
back every value within its rules exactly, and refuses the rest with a limit or a rule
error, never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.common.crypto import strictjson
from service.common.crypto.strictjson import JsonLimitError, JsonRuleError, Limits

WIDE = Limits(max_bytes=1 << 20, max_depth=16, max_values=10_000, max_string=10_000)
safe_ints = st.integers(-strictjson.MAX_SAFE_INTEGER, strictjson.MAX_SAFE_INTEGER)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | safe_ints | finite | st.text(max_size=30)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=25,
)


@given(values, st.booleans())
def test_every_value_within_the_rules_reads_back_exactly(value: object, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert strictjson.loads(raw, WIDE) == value


@settings(max_examples=300)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_bytes_read_or_refused_cleanly(raw: bytes) -> None:
    with contextlib.suppress(JsonLimitError, JsonRuleError):
        strictjson.loads(raw, WIDE)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"[" * 17 + b"]" * 17, JsonLimitError),
        (b"[" * 100_000, JsonLimitError),  # F-01: refused before any parsing
        (b'{"a":"' + b"x" * 10_001 + b'"}', JsonLimitError),
        (b"[" + b",".join([b'{"k":1}'] * 10_001) + b"]", JsonLimitError),
        (b'{"a":1,"\\u0061":2}', JsonRuleError),
        (b'"\\udc00"', JsonRuleError),
        (b"9007199254740992", JsonRuleError),
        (b"-9007199254740992", JsonRuleError),
        (b"1" * 5000, JsonRuleError),  # refused before Python's digit limit is reached
        (b"1e400", JsonRuleError),
        (b"NaN", JsonRuleError),
        (b"\xef\xbb\xbf{}", JsonRuleError),
        (b'"\xed\xa0\x80"', JsonRuleError),
        (b"{} {}", JsonRuleError),
    ],
)
def test_refusals(raw: bytes, error: type[ValueError]) -> None:
    with pytest.raises(error):
        strictjson.loads(raw, WIDE)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    raw = json.dumps({"a": "[" * 1000 + '\\"{' * 50}).encode()
    assert strictjson.loads(raw, WIDE) == {"a": "[" * 1000 + '\\"{' * 50}
    assert strictjson.loads(b"[" * 16 + b"]" * 16, WIDE) == json.loads(b"[" * 16 + b"]" * 16)
