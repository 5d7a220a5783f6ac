"""Property tests for the courier Authorization header (service.common.contract.courier_auth):
any header text is a proof or None — never an exception — and a header the courier
writes parses back to its key, challenge and a signature that verifies."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.common.contract.courier_auth import authorization, message, parse
from service.common.crypto.keys import generate_signing_keypair, verify

COURIER = generate_signing_keypair()


@given(
    st.binary(min_size=8, max_size=8),
    st.binary(min_size=32, max_size=32),
    st.sampled_from(["GET", "POST"]),
    st.text(max_size=60),
    st.binary(max_size=200),
)
def test_written_header_parses_back_and_verifies(
    key_id: bytes, challenge: bytes, method: str, path: str, body: bytes
) -> None:
    proof = parse(authorization(key_id, COURIER.seed, method, path, challenge, body))
    assert proof is not None
    assert (proof.key_id, proof.challenge) == (key_id, challenge)
    verify(COURIER.verify, message(method, path, challenge, body), proof.signature)


good = authorization(b"k" * 8, COURIER.seed, "GET", "/", b"c" * 32)


@given(st.one_of(st.none(), st.text(max_size=300), st.data()))
def test_any_header_is_a_proof_or_none(header: object) -> None:
    if isinstance(header, st.DataObject):  # a real header with one character changed
        at = header.draw(st.integers(0, len(good) - 1))
        header = good[:at] + header.draw(st.characters()) + good[at + 1 :]
    assert isinstance(header, str | None)
    proof = parse(header)
    if proof is not None:
        assert (len(proof.key_id), len(proof.challenge), len(proof.signature)) == (8, 32, 64)


def test_uppercase_hex_trailing_newline_and_extra_spaces_are_refused() -> None:
    assert parse(good) is not None
    for variant in (good.upper(), good + "\n", good.replace(", ", ",  "), " " + good):
        assert parse(variant) is None
