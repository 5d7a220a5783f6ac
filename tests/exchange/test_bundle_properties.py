"""Property tests for the bundle reader (service.common.contract.bundle): any bytes a damaged
USB stick or a hostile server could hand the desk end in a BundleError or a clean read,
never another exception; a manifest written by the server reads back exactly."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.common.contract.bundle import (
    HEAD,
    MAGIC,
    MAX_ITEM_SIZE,
    MAX_SEQ,
    VERSION,
    BundleCase,
    BundleError,
    BundleItem,
    Manifest,
    head_bytes,
    parse_manifest,
    read_items,
    read_manifest,
    total_size,
)
from service.common.contract.vocabulary import STATUSES

hex16 = st.binary(min_size=16, max_size=16).map(bytes.hex)
hex32 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    cases = draw(
        st.lists(
            st.builds(
                BundleCase,
                hex16,
                hex32,
                st.sampled_from(STATUSES),
                st.integers(0, MAX_SEQ),
            ),
            min_size=1,
            max_size=4,
            unique_by=lambda c: c.case,
        )
    )
    items = draw(
        st.lists(
            st.builds(
                BundleItem,
                hex16,
                st.sampled_from([c.case for c in cases]),
                st.integers(1, MAX_ITEM_SIZE),
                hex32,
            ),
            max_size=6,
            unique_by=lambda i: i.item,
        )
    )
    return Manifest(
        coalition=draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True)),
        bundle=draw(hex16),
        created=draw(st.from_regex(r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])", fullmatch=True)),
        cases=tuple(cases),
        items=tuple(items),
    )


@given(manifests())
def test_manifest_round_trips_through_the_head(manifest: Manifest) -> None:
    head = head_bytes(manifest)
    assert read_manifest(io.BytesIO(head)) == manifest
    assert total_size(manifest) == len(head) + sum(i.size for i in manifest.items)


# JSON shapes close to a manifest, so the fuzzing reaches past the first key lookups.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def near_manifests(draw: st.DrawFn) -> bytes:
    base: dict[str, object] = json.loads(draw(manifests()).to_json())
    base.update(format="aryz-bundle", version=VERSION)
    for _ in range(draw(st.integers(0, 3))):
        target: object = base
        for key in ("cases", "items"):
            inner = target.get(key) if isinstance(target, dict) else None
            if draw(st.booleans()) and isinstance(inner, list) and inner:
                target = draw(st.sampled_from(inner))
                break
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(json_values)
    text = json.dumps(base)
    # Numbers JSON cannot write but Python's reader accepts: inf, nan, huge exponents.
    if draw(st.booleans()):
        text = text.replace("0", draw(st.sampled_from(["1e999", "NaN", "-Infinity", "0"])), 1)
    return text.encode()


@settings(max_examples=100)
@given(
    st.one_of(
        st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), near_manifests()
    )
)
def test_any_manifest_bytes_parse_or_raise_bundle_error(raw: bytes) -> None:
    try:
        manifest = parse_manifest(raw)
    except BundleError as error:
        refused: BundleError | None = error
    else:
        refused = None
    if refused is not None:
        assert refused.__cause__ is None  # nothing from the input chained on
        return
    assert all(i.size > 0 for i in manifest.items)
    assert {i.case for i in manifest.items} <= {c.case for c in manifest.cases}


@settings(max_examples=100)
@given(manifests(), st.binary(max_size=200), st.data())
def test_any_bundle_bytes_read_or_raise_bundle_error(
    manifest: Manifest, body: bytes, data: st.DataObject
) -> None:
    raw = bytearray(head_bytes(manifest) + body)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    stream = io.BytesIO(bytes(raw))
    try:
        read = read_manifest(stream)
        results = list(read_items(stream, read))
    except BundleError:
        return
    assert [r.entry for r in results] == list(read.items)
    assert all((r.data is None) == (r.problem is not None) for r in results)


def test_a_huge_declared_manifest_is_refused_before_reading_it() -> None:
    head = HEAD.pack(MAGIC, VERSION, 2**32 - 1)
    with pytest.raises(BundleError):
        read_manifest(io.BytesIO(head + b"{}"))


def test_json_that_is_not_an_object_or_has_infinite_numbers_is_refused() -> None:
    good = json.loads(
        Manifest(
            "kz", "00" * 16, "2026-W01", (BundleCase("11" * 16, "22" * 32, "received", 0),), ()
        ).to_json()
    )
    shapes = [b"null", b"[]", b'"aryz-bundle"', b"1e999"]
    infinite = json.dumps(good).replace('"status_seq": 0', '"status_seq": 1e999').encode()
    assert b"1e999" in infinite
    for raw in [*shapes, infinite]:
        with pytest.raises(BundleError):
            parse_manifest(raw)
