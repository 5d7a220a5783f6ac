"""Envelope v3 padding (service/common/crypto/padding.py): round trips in any pieces, and the
reader refuses every padding a conforming sealer never writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.common.crypto.envelope import Opener, open_envelope, seal, sealed_size
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.padding import Unpadder, size_class
from service.common.errors import EnvelopeFormatError

KEY = generate_box_keypair()

# Content that often ends like padding: 0x80 and zeros are over-represented.
content = st.lists(st.sampled_from([0, 0, 0x80, 1, 255]), max_size=5000).map(bytes) | st.binary(
    max_size=70_000
)


@settings(max_examples=60, deadline=None)
@given(data=content, cuts=st.lists(st.integers(min_value=1, max_value=9000), max_size=8))
def test_padded_round_trip_in_any_pieces(data: bytes, cuts: list[int]) -> None:
    envelope = seal(data, [KEY.public], padded=True)
    assert len(envelope) == sealed_size(len(data), 1, padded=True)
    opener = Opener([KEY])
    out, at = b"", 0
    for cut in cuts:
        out += opener.feed(envelope[at : at + cut])
        at += cut
    out += opener.feed(envelope[at:]) + opener.close()
    assert out == data


@settings(max_examples=60, deadline=None)
@given(data=content, cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=6))
def test_unpadder_releases_exactly_the_content(data: bytes, cuts: list[int]) -> None:
    padded = data + b"\x80" + bytes(size_class(len(data) + 1) - len(data) - 1)
    unpadder, out, at = Unpadder(), b"", 0
    for cut in cuts:
        out += unpadder.feed(padded[at : at + cut])
        at += cut
    out += unpadder.feed(padded[at:])
    unpadder.close()
    assert out == data


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",  # no marker
        bytes(4096),  # zeros only
        b"a" * 4096,  # last byte not zero, no marker
        b"a\x80" + bytes(4094) + b"\x01",  # something after the padding
        b"a\x80" + bytes(100),  # not a class
        b"a\x80" + bytes(16382),  # a class, but not the content's
    ],
)
def test_padding_no_sealer_writes_is_refused(plaintext: bytes) -> None:
    unpadder = Unpadder()
    unpadder.feed(plaintext)
    with pytest.raises(EnvelopeFormatError):
        unpadder.close()


def test_v1_envelopes_still_open_unchanged() -> None:
    data = b"\x80\x00\x00"  # looks like padding, but v1 has none
    assert open_envelope(seal(data, [KEY.public]), [KEY]) == data
