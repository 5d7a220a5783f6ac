"""Envelope v1: round trips, streaming, and every way a reader must refuse an item."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.common.crypto import envelope, header
from service.common.crypto.envelope import (
    CHUNK_OVERHEAD,
    CHUNK_SIZE,
    FRAME_SIZE,
    MAX_RECIPIENTS,
    Opener,
    Sealer,
    check_framing,
    header_length,
    open_envelope,
    open_stream,
    parse_header,
    recipient_key_ids,
    seal,
    seal_stream,
)
from service.common.crypto.keys import BoxKeyPair, generate_box_keypair, key_id
from service.common.errors import (
    EnvelopeCorruptError,
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeKeyError,
    EnvelopeTruncatedError,
)

ALICE = generate_box_keypair()
BOB = generate_box_keypair()
MALLORY = generate_box_keypair()

BOUNDARY_SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE,
    3 * CHUNK_SIZE + 5,
]
sizes = st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, 3 * CHUNK_SIZE + 100))
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def content(size: int, label: bytes = b"") -> bytes:
    return hashlib.shake_256(b"aryz test plaintext " + label).digest(size)


def body_length(size: int) -> int:
    """The body length the spec gives for a plaintext of ``size`` bytes."""
    return size + CHUNK_OVERHEAD * max(1, math.ceil(size / CHUNK_SIZE))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


def frames_of(sealed: bytes) -> tuple[bytes, list[bytes]]:
    _, length = parse_header(sealed)
    body = sealed[length:]
    return sealed[:length], [body[i : i + FRAME_SIZE] for i in range(0, len(body), FRAME_SIZE)]


def flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    return data[:offset] + bytes([data[offset] ^ (1 << bit)]) + data[offset + 1 :]


# --- round trips ---------------------------------------------------------------------


@SLOW
@given(size=sizes, seal_cuts=st.lists(st.integers(0, 10**6), max_size=6), data=st.data())
def test_round_trip_with_random_split_points(
    size: int, seal_cuts: list[int], data: st.DataObject
) -> None:
    plaintext = content(size)
    sealer = Sealer([ALICE.public])
    pieces = []
    for piece in split(plaintext, seal_cuts):
        out = sealer.update(piece)
        # Bounded buffering: update only ever returns whole message frames.
        assert len(out) % FRAME_SIZE == 0
        pieces.append(out)
    sealed = sealer.header + b"".join(pieces) + sealer.finish()
    assert len(sealed) == header_length(1) + body_length(size)

    open_cuts = data.draw(st.lists(st.integers(0, len(sealed)), max_size=8))
    opener = Opener([ALICE])
    opened = b"".join(opener.feed(piece) for piece in split(sealed, open_cuts)) + opener.close()
    assert opened == plaintext
    assert opener.finished


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_frames_follow_the_fixed_framing(size: int) -> None:
    plaintext = content(size)
    head, frames = frames_of(seal(plaintext, [ALICE.public]))
    assert len(head) == header_length(1)
    assert all(len(f) == FRAME_SIZE for f in frames[:-1])
    assert CHUNK_OVERHEAD <= len(frames[-1]) <= FRAME_SIZE
    assert len(frames) == max(1, math.ceil(size / CHUNK_SIZE))


def test_sealer_holds_back_a_full_chunk_until_more_data_follows() -> None:
    # A chunk of exactly 64 KiB might be the last one, which must carry TAG_FINAL.
    sealer = Sealer([ALICE.public])
    assert sealer.update(content(CHUNK_SIZE)) == b""
    assert len(sealer.update(b"x")) == FRAME_SIZE
    assert len(sealer.finish()) == 1 + CHUNK_OVERHEAD


def test_opener_releases_plaintext_frame_by_frame() -> None:
    plaintext = content(3 * CHUNK_SIZE + 5)
    sealed = seal(plaintext, [ALICE.public])
    opener = Opener([ALICE])
    assert opener.feed(sealed[: header_length(1) + FRAME_SIZE - 1]) == b""
    assert opener.header is not None
    assert (
        opener.feed(sealed[header_length(1) + FRAME_SIZE - 1 : header_length(1) + FRAME_SIZE])
        == (plaintext[:CHUNK_SIZE])
    )
    rest = opener.feed(sealed[header_length(1) + FRAME_SIZE :])
    assert rest == plaintext[CHUNK_SIZE : 3 * CHUNK_SIZE]  # the short final frame waits for close
    assert opener.close() == plaintext[3 * CHUNK_SIZE :]


def test_full_final_frame_is_recognised_by_its_tag_without_close() -> None:
    plaintext = content(CHUNK_SIZE)
    opener = Opener([ALICE])
    assert opener.feed(seal(plaintext, [ALICE.public])) == plaintext
    assert opener.finished
    assert opener.close() == b""


def test_stream_helpers_round_trip() -> None:
    plaintext = content(2 * CHUNK_SIZE + 7)
    pieces = list(seal_stream(split(plaintext, [5, 70000, 140000]), [ALICE.public, BOB.public]))
    assert b"".join(open_stream(pieces, [BOB])) == plaintext


def test_every_recipient_can_open_and_no_one_else() -> None:
    others = [generate_box_keypair() for _ in range(MAX_RECIPIENTS - 2)]
    recipients = [ALICE, BOB, *others]
    plaintext = content(1000)
    sealed = seal(plaintext, [k.public for k in recipients])
    for pair in recipients:
        assert open_envelope(sealed, [pair]) == plaintext
    assert open_envelope(sealed, [MALLORY, others[-1]]) == plaintext
    with pytest.raises(EnvelopeKeyError):
        open_envelope(sealed, [MALLORY])
    head, _ = parse_header(sealed)
    assert recipient_key_ids(head) == [key_id(k.public) for k in recipients]


def test_each_item_gets_its_own_key() -> None:
    plaintext = content(5000)
    first, second = seal(plaintext, [ALICE.public]), seal(plaintext, [ALICE.public])
    head1, frames1 = frames_of(first)
    head2, frames2 = frames_of(second)
    h1, _ = parse_header(first)
    h2, _ = parse_header(second)
    assert h1.recipients[0][1] != h2.recipients[0][1]  # different sealed item keys
    assert h1.stream_header != h2.stream_header
    assert frames1[0] != frames2[0]
    # A frame from one item does not authenticate in another.
    with pytest.raises(EnvelopeCorruptError):
        open_envelope(head1 + frames2[0], [ALICE])


# --- rejection rules -----------------------------------------------------------------

TWO_FRAMES = seal(content(CHUNK_SIZE + 1, b"two"), [ALICE.public])
THREE_FRAMES = seal(content(2 * CHUNK_SIZE + 1, b"three"), [ALICE.public])
FULL_FINAL = seal(content(CHUNK_SIZE, b"full"), [ALICE.public])
SMALL = seal(b"CANARY testimony " * 4, [ALICE.public])
SHARED = seal(b"CANARY testimony", [ALICE.public, BOB.public])
H2, (M1, F2) = frames_of(TWO_FRAMES)
H3, (N1, N2, N3) = frames_of(THREE_FRAMES)
ENTRY = SMALL[6 : 6 + 88]
CHUNK = content(CHUNK_SIZE, b"forged")


def forged(build: Callable[[Sealer], bytes]) -> bytes:
    """An envelope with chunks and tags a conforming sealer never writes."""
    sealer = Sealer([ALICE.public])
    return sealer.header + build(sealer)


REJECTED: dict[str, tuple[bytes, type[EnvelopeError]]] = {
    "empty input": (b"", EnvelopeTruncatedError),
    "header only": (H2, EnvelopeTruncatedError),
    "ends inside fixed header": (SMALL[:5], EnvelopeTruncatedError),
    "ends inside recipients": (SMALL[:50], EnvelopeTruncatedError),
    "final frame dropped": (H2 + M1, EnvelopeTruncatedError),
    "last frame under 17 bytes": (H2 + M1 + F2[:16], EnvelopeTruncatedError),
    "last frame cut at 17 bytes": (H2 + M1 + F2[:17], EnvelopeCorruptError),
    "short last frame tagged MESSAGE": (
        forged(lambda s: s._push(b"abc", 0)),
        EnvelopeTruncatedError,
    ),
    "extra frame after final": (H2 + M1 + F2 + M1, EnvelopeCorruptError),
    "bytes after full final frame": (FULL_FINAL + b"\x00", EnvelopeCorruptError),
    "byte after short final frame": (SMALL + b"\x00", EnvelopeCorruptError),
    "frames reordered": (H3 + N2 + N1 + N3, EnvelopeCorruptError),
    "frame duplicated": (H2 + M1 + M1 + F2, EnvelopeCorruptError),
    "final frame from another item": (H2 + M1 + frames_of(FULL_FINAL)[1][0], EnvelopeCorruptError),
    "bit flipped in message frame": (H3 + flip(N1, 9000) + N2 + N3, EnvelopeCorruptError),
    "bit flipped in final frame": (flip(SMALL, len(SMALL) - 1, 7), EnvelopeCorruptError),
    "bit flipped in stream header": (flip(SMALL, header_length(1) - 1), EnvelopeCorruptError),
    "other recipient's sealed key changed (AD)": (
        flip(SHARED, 6 + 88 + 8 + 3),
        EnvelopeCorruptError,
    ),
    "own sealed key changed": (flip(SHARED, 6 + 8 + 3), EnvelopeKeyError),
    "own key id changed": (flip(SMALL, 6), EnvelopeKeyError),
    "bad magic": (b"ARYX" + SMALL[4:], EnvelopeFormatError),
    "bad magic, two bytes": (b"AX", EnvelopeFormatError),
    "version 2": (SMALL[:4] + b"\x02" + SMALL[5:], EnvelopeFormatError),
    "version 0": (SMALL[:4] + b"\x00" + SMALL[5:], EnvelopeFormatError),
    "zero recipients": (SMALL[:5] + b"\x00" + SMALL[6:], EnvelopeFormatError),
    "nine recipients": (SMALL[:5] + b"\x09" + SMALL[6:] + bytes(88 * 8), EnvelopeFormatError),
    "duplicate key id": (
        SMALL[:5] + b"\x02" + ENTRY + ENTRY + SMALL[6 + 88 :],
        EnvelopeFormatError,
    ),
    "PUSH tag": (forged(lambda s: s._push(CHUNK, 1) + s.finish()), EnvelopeFormatError),
    "REKEY tag": (forged(lambda s: s._push(CHUNK, 2) + s.finish()), EnvelopeFormatError),
}


@pytest.mark.parametrize(("data", "error"), REJECTED.values(), ids=REJECTED.keys())
def test_reader_rejects(data: bytes, error: type[EnvelopeError]) -> None:
    with pytest.raises(error) as caught:
        open_envelope(data, [ALICE])
    assert type(caught.value) is error


@pytest.mark.parametrize(("data", "error"), REJECTED.values(), ids=REJECTED.keys())
def test_streaming_reader_rejects_the_same_way(data: bytes, error: type[EnvelopeError]) -> None:
    with pytest.raises(error) as caught:
        open_in_pieces(data, 4099)
    assert type(caught.value) is error


def open_in_pieces(data: bytes, size: int) -> bytes:
    opener = Opener([ALICE])
    out = [opener.feed(data[start : start + size]) for start in range(0, len(data), size)]
    return b"".join(out) + opener.close()


def test_wrong_key_and_wrong_secret_are_key_errors() -> None:
    with pytest.raises(EnvelopeKeyError):
        open_envelope(SMALL, [MALLORY])
    impostor = BoxKeyPair(public=ALICE.public, secret=MALLORY.secret)
    with pytest.raises(EnvelopeKeyError):
        open_envelope(SMALL, [impostor])


def test_format_errors_are_raised_before_the_header_is_complete() -> None:
    # A server or desk can drop garbage after a few bytes instead of buffering it.
    opener = Opener([ALICE])
    with pytest.raises(EnvelopeFormatError):
        opener.feed(b"GIF8")


def test_opener_stays_failed_after_an_error() -> None:
    opener = Opener([ALICE])
    with pytest.raises(EnvelopeCorruptError):
        opener.feed(H3 + N2)
    with pytest.raises(EnvelopeCorruptError):
        opener.feed(N1 + N3)
    with pytest.raises(EnvelopeCorruptError):
        opener.close()


def test_data_after_final_is_refused_even_in_a_later_feed() -> None:
    opener = Opener([ALICE])
    opener.feed(FULL_FINAL)
    assert opener.feed(b"") == b""
    with pytest.raises(EnvelopeCorruptError):
        opener.feed(b"\x00")


def test_closed_opener_and_finished_sealer_refuse_use() -> None:
    opener = Opener([ALICE])
    opener.feed(SMALL)
    opener.close()
    with pytest.raises(RuntimeError):
        opener.feed(b"")
    sealer = Sealer([ALICE.public])
    sealer.finish()
    with pytest.raises(RuntimeError):
        sealer.update(b"more")
    with pytest.raises(RuntimeError):
        sealer.finish()


@SLOW
@given(offset=st.integers(0, len(THREE_FRAMES) - 1), bit=st.integers(0, 7))
def test_any_single_bit_flip_is_refused(offset: int, bit: int) -> None:
    tampered = flip(THREE_FRAMES, offset, bit)
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(tampered, [ALICE])
    if offset < 5:
        assert isinstance(caught.value, EnvelopeFormatError)  # magic or version
    elif 6 <= offset < header_length(1):
        assert isinstance(caught.value, EnvelopeKeyError | EnvelopeCorruptError)
    elif offset >= header_length(1):
        assert isinstance(caught.value, EnvelopeCorruptError)


def test_error_messages_are_fixed_and_carry_no_data() -> None:
    fixed = {
        value
        for module in (envelope, header)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }
    secrets = [ALICE.secret.hex(), ALICE.public.hex(), "CANARY", key_id(ALICE.public).hex()]
    for data, _ in REJECTED.values():
        with pytest.raises(EnvelopeError) as caught:
            open_envelope(data, [ALICE])
        text = str(caught.value) + repr(caught.value)
        assert caught.value.message in fixed
        assert not any(s in text or s.upper() in text for s in secrets)
        assert "\\x" not in text


def test_key_pair_repr_hides_the_secret_key() -> None:
    assert ALICE.secret.hex() not in repr(ALICE)
    assert repr(ALICE.secret) not in repr(ALICE)


# --- sealer arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipients",
    [
        [],
        [generate_box_keypair().public for _ in range(MAX_RECIPIENTS + 1)],
        [b"\x01" * 31],
        [ALICE.public, ALICE.public],
        [bytes(32)],  # all-zero point: no shared secret can be formed
    ],
    ids=["none", "nine", "short key", "duplicate", "invalid point"],
)
def test_sealer_refuses_bad_recipient_lists(recipients: list[bytes]) -> None:
    with pytest.raises(ValueError, match=r"recipient|1 to 8"):
        Sealer(recipients)


def test_sealer_refuses_a_bare_key_instead_of_a_list() -> None:
    with pytest.raises(TypeError):
        Sealer(ALICE.public)  # type: ignore[arg-type]  # the misuse under test


# --- keyless framing check (server side) ---------------------------------------------


def framing_is_valid_by_model(body: int) -> bool:
    """Reference model, from the sealer's side: can some plaintext give ``body`` bytes?"""
    for chunks in range(max(1, body // FRAME_SIZE - 1), body // FRAME_SIZE + 3):
        size = body - CHUNK_OVERHEAD * chunks
        if size >= 0 and max(1, math.ceil(size / CHUNK_SIZE)) == chunks:
            return True
    # Readers also accept an empty final chunk after k >= 1 full chunks (spec 4.3).
    return body > FRAME_SIZE and (body - CHUNK_OVERHEAD) % FRAME_SIZE == 0


@SLOW
@given(size=sizes, n=st.integers(1, 3))
def test_check_framing_accepts_every_real_envelope(size: int, n: int) -> None:
    recipients = [generate_box_keypair().public for _ in range(n)]
    sealed = seal(content(size), recipients)
    _, length = parse_header(sealed)
    check_framing(len(sealed), length)


@given(body=st.one_of(st.integers(0, 6 * FRAME_SIZE), st.integers(0, 2**40)), n=st.integers(1, 8))
def test_check_framing_matches_the_model(body: int, n: int) -> None:
    valid = framing_is_valid_by_model(body)
    if valid:
        check_framing(header_length(n) + body, header_length(n))
    else:
        with pytest.raises(EnvelopeFormatError):
            check_framing(header_length(n) + body, header_length(n))


@given(k=st.integers(1, 10**6))
def test_check_framing_rejects_off_by_one_lengths(k: int) -> None:
    hl = header_length(1)
    # k full frames is valid (the last one final); one byte more or less is not.
    check_framing(hl + k * FRAME_SIZE, hl)
    for delta in range(1, CHUNK_OVERHEAD):
        with pytest.raises(EnvelopeFormatError):
            check_framing(hl + k * FRAME_SIZE + delta, hl)
    with pytest.raises(EnvelopeFormatError):
        check_framing(hl + CHUNK_OVERHEAD - 1, hl)


def test_check_framing_refuses_impossible_header_lengths() -> None:
    with pytest.raises(EnvelopeFormatError):
        check_framing(1000, header_length(1) + 1)
    with pytest.raises(EnvelopeFormatError):
        check_framing(10, header_length(1))
