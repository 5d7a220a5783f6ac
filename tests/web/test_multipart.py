"""Tests for the streaming multipart reader (service.server.web.multipart).

Bodies are built by hand (shaped like what Firefox/Tor Browser and Chromium send), by
httpx's encoder, and by Hypothesis, then fed in chunks split at arbitrary points. The
events must reassemble into exactly what was sent; every malformed or oversized body
must end in our fixed FormError or TooLargeError, never a library error or a hang.
"""

from __future__ import annotations

import hashlib
import logging
import tracemalloc
import unicodedata
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.requests import ClientDisconnect, Request

from service.common.errors import FormError, InputError, TooLargeError
from service.server.web.multipart import (
    CUT_OFF_MESSAGE,
    FEED_BYTES,
    Event,
    Field,
    FileData,
    FileEnd,
    FileStart,
    Limits,
    boundary_from_content_type,
    read_multipart,
    sanitize_filename,
)

BOUNDARY = "aryzTestBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
# Every character RFC 2046 allows, including a space, so the header must quote it.
ODD_BOUNDARY = "--'()+_,-./:=? aryz"
ODD_CONTENT_TYPE = f'multipart/form-data; boundary="{ODD_BOUNDARY}"'
LIMITS = Limits(max_body_bytes=16 * 1024 * 1024)
OCTET_STREAM = "application/octet-stream"


# --- building bodies ---------------------------------------------------------------


def part(headers: Sequence[bytes], data: bytes) -> bytes:
    """One body part: header lines, the blank line, then the data."""
    return b"".join(header + b"\r\n" for header in headers) + b"\r\n" + data


def text_part(name: str, value: bytes) -> bytes:
    return part([b'Content-Disposition: form-data; name="' + name.encode() + b'"'], value)


def file_part(
    name: str, filename: bytes | str, data: bytes, content_type: bytes = b"image/jpeg"
) -> bytes:
    raw_filename = filename.encode() if isinstance(filename, str) else filename
    disposition = (
        (b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="')
        + raw_filename
        + b'"'
    )
    return part([disposition, b"Content-Type: " + content_type], data)


def form_body(parts: Iterable[bytes], boundary: str = BOUNDARY) -> bytes:
    """Parts between delimiters, then the closing delimiter (RFC 2046 §5.1.1)."""
    dash_boundary = b"--" + boundary.encode()
    body = b"".join(dash_boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return body + dash_boundary + b"--\r\n"


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given offsets (duplicates and ends allowed: empty chunks)."""
    points = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


def every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- reading bodies ----------------------------------------------------------------


async def _stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _gather(chunks: Iterable[bytes], content_type: str | None, limits: Limits) -> list[Event]:
    return [event async for event in read_multipart(_stream(chunks), content_type, limits)]


def read(
    data: bytes | Iterable[bytes],
    content_type: str | None = CONTENT_TYPE,
    limits: Limits = LIMITS,
) -> list[Event]:
    """Run the reader over a body (one chunk) or a sequence of chunks."""
    chunks = [data] if isinstance(data, bytes) else list(data)
    return anyio.run(_gather, chunks, content_type, limits)


@dataclass(frozen=True)
class Upload:
    """A whole file as the caller would see it after FileEnd."""

    name: str
    filename: str
    content_type: str
    data: bytes


def reassemble(events: Sequence[Event]) -> list[Field | Upload]:
    """Join file events into uploads, checking the event grammar on the way:
    (Field | FileStart FileData* FileEnd)*, no empty FileData, FileEnd.size exact."""
    out: list[Field | Upload] = []
    current: FileStart | None = None
    data = bytearray()
    for event in events:
        if isinstance(event, Field):
            assert current is None
            out.append(event)
        elif isinstance(event, FileStart):
            assert current is None
            current, data = event, bytearray()
        elif isinstance(event, FileData):
            assert current is not None
            assert event.data
            data += event.data
        else:
            assert current is not None
            assert event.size == len(data)
            out.append(Upload(current.name, current.filename, current.content_type, bytes(data)))
            current = None
    assert current is None
    return out


def assert_clean(error: BaseException, *secrets: bytes) -> None:
    """Our error, with a fixed message and nothing chained that could carry input."""
    assert isinstance(error, InputError)
    assert error.__cause__ is None
    assert error.__context__ is None
    for secret in secrets:
        assert secret.decode(errors="replace") not in str(error)


# --- browser-shaped and encoder-built bodies ------------------------------------------


def test_firefox_shaped_body_reads_fields_file_and_skips_empty_input() -> None:
    boundary = "----geckoformboundary4f1c3b2a9d8e7f6a5b4c3d2e1f0a9b8"
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
    body = form_body(
        [
            text_part("country", b"kz"),
            text_part("story", "Меня задержали\r\nв Алматы.".encode()),
            file_part("evidence", "IMG_0042.JPG", photo),
            # A second file input left empty: what Firefox and Chromium send.
            file_part("evidence", "", b"", b"application/octet-stream"),
            text_part("consent", b"yes"),
        ],
        boundary,
    )

    events = read(body, f"multipart/form-data; boundary={boundary}")

    assert reassemble(events) == [
        Field("country", "kz"),
        Field("story", "Меня задержали\nв Алматы."),
        Upload("evidence", "IMG_0042.JPG", "image/jpeg", photo),
        Field("consent", "yes"),
    ]


def test_httpx_encoder_body_reads_back_exactly() -> None:
    document = b"%PDF-1.7\r\n--not a boundary\r\n" * 3000
    request = httpx.Request(
        "POST",
        "http://aryz.onion/report",
        data={"story": "Line one\r\nLine two", "language": "ky"},
        files={"attachment": ("statement.pdf", document, "application/pdf")},
    )
    body = request.read()

    events = read(every(body, 1000), request.headers["content-type"])

    assert reassemble(events) == [
        Field("story", "Line one\nLine two"),
        Field("language", "ky"),
        Upload("attachment", "statement.pdf", "application/pdf", document),
    ]


def test_every_one_byte_split_of_a_tricky_body_reads_the_same() -> None:
    data = b"\r\n--" + BOUNDARY[:-1].encode() + b"\r\n-\r\n--\r" + b"--" + BOUNDARY.encode()
    body = form_body(
        [text_part("a", b"x\r\n--y"), file_part("f", "f.bin", data), text_part("b", b"")]
    )
    expected = [Field("a", "x\n--y"), Upload("f", "f.bin", "image/jpeg", data), Field("b", "")]

    assert reassemble(read(body)) == expected
    assert reassemble(read(every(body, 1))) == expected


def test_starlette_request_stream_is_read_without_buffering_the_body() -> None:
    payload = b"\x00\x01sealed-later" * 20_000
    body = form_body([text_part("kind", b"photo"), file_part("f", "a.png", payload, b"image/png")])
    messages = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in every(body, 4096)
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def run() -> list[Event]:
        request = Request(_scope(CONTENT_TYPE), receive)
        content_type = request.headers.get("content-type")
        return [event async for event in read_multipart(request.stream(), content_type, LIMITS)]

    events = anyio.run(run)

    assert reassemble(events) == [
        Field("kind", "photo"),
        Upload("f", "a.png", "image/png", payload),
    ]
    assert max(len(e.data) for e in events if isinstance(e, FileData)) <= 4096


def test_client_disconnect_propagates_unchanged() -> None:
    body = form_body([file_part("f", "a.png", b"x" * 10_000)])
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[:5000], "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def run() -> None:
        request = Request(_scope(CONTENT_TYPE), receive)
        async for _event in read_multipart(request.stream(), CONTENT_TYPE, LIMITS):
            pass

    with pytest.raises(ClientDisconnect):
        anyio.run(run)


def _scope(content_type: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/report",
        "headers": [(b"content-type", content_type.encode())],
    }


# --- parts and headers -------------------------------------------------------------


def test_empty_form_has_no_events() -> None:
    assert read(form_body([])) == []


def test_empty_file_input_is_skipped_and_not_counted() -> None:
    empty = file_part("evidence", "", b"", b"application/octet-stream")
    body = form_body([empty, empty, empty, file_part("evidence", "a.txt", b"x", b"text/plain")])

    events = read(body, limits=Limits(max_body_bytes=10_000, max_files=1))

    assert reassemble(events) == [Upload("evidence", "a.txt", "text/plain", b"x")]


def test_empty_filename_with_data_is_kept_as_file() -> None:
    events = read(form_body([file_part("f", "", b"data")]))

    assert reassemble(events) == [Upload("f", "file", "image/jpeg", b"data")]


def test_named_empty_file_is_reported_with_size_zero() -> None:
    events = read(form_body([file_part("f", "empty.txt", b"", b"text/plain")]))

    assert events == [FileStart("f", "empty.txt", "text/plain"), FileEnd(0)]


def test_header_names_and_disposition_type_are_case_insensitive() -> None:
    body = form_body(
        [
            part([b"CONTENT-DISPOSITION: Form-Data; NAME=a"], b"1"),
            part(
                [
                    b"content-type: Text/Plain",
                    b"content-disposition: form-data; name=b; filename=x",
                ],
                b"2",
            ),
        ]
    )

    assert reassemble(read(body)) == [Field("a", "1"), Upload("b", "x", "text/plain", b"2")]


def test_unknown_part_headers_are_ignored() -> None:
    body = form_body(
        [
            part(
                [b'Content-Disposition: form-data; name="a"', b"Content-Transfer-Encoding: 8bit"],
                b"v",
            )
        ]
    )

    assert read(body) == [Field("a", "v")]


def test_quoted_strings_unescape_backslashes() -> None:
    body = form_body(
        [
            part(
                [b'Content-Disposition: form-data ; name = "f" ; filename="say \\"hi\\".txt" ;'],
                b"x",
            )
        ]
    )

    assert read(body)[0] == FileStart("f", 'say "hi".txt', OCTET_STREAM)


def test_filename_star_utf8_is_decoded_and_wins_over_filename() -> None:
    header = (
        b'Content-Disposition: form-data; name="f"; filename="fallback.txt"; '
        b"filename*=UTF-8''%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%D0%BC%D0%B8%D1%80.txt"
    )

    assert read(form_body([part([header], b"x")]))[0] == FileStart(
        "f", "привет мир.txt", OCTET_STREAM
    )


def test_filename_star_alone_makes_a_file_part() -> None:
    header = b"Content-Disposition: form-data; name=f; filename*=utf-8'ru'%D1%84.txt"

    assert read(form_body([part([header], b"x")]))[0] == FileStart("f", "ф.txt", OCTET_STREAM)


def test_raw_utf8_filename_is_accepted() -> None:
    events = read(form_body([file_part("f", "Ёқ ўз.jpg".encode(), b"x")]))

    assert events[0] == FileStart("f", "Ёқ ўз.jpg", "image/jpeg")


def test_filename_is_sanitized_in_the_event() -> None:
    events = read(form_body([file_part("f", "../../etc/\u202epasswd", b"x")]))

    assert events[0] == FileStart("f", "passwd", "image/jpeg")


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (b"image/jpeg", "image/jpeg"),
        (b"IMAGE/JPEG; charset=binary", "image/jpeg"),
        (b"application/vnd.openxmlformats-officedocument.wordprocessingml.document", None),
        (b"text/html<script>", OCTET_STREAM),
        (b"image", OCTET_STREAM),
        (b"image/", OCTET_STREAM),
        (b"/jpeg", OCTET_STREAM),
        (b"image/jp eg", OCTET_STREAM),
        ("image/jpég".encode(), OCTET_STREAM),
        (b"\xff\xfe/x", OCTET_STREAM),
        (b"", OCTET_STREAM),
    ],
)
def test_part_content_type_is_kept_only_when_conservative(
    declared: bytes, expected: str | None
) -> None:
    events = read(form_body([file_part("f", "a", b"x", declared)]))

    assert events[0] == FileStart("f", "a", expected or declared.decode())


def test_missing_part_content_type_is_octet_stream() -> None:
    body = form_body([part([b'Content-Disposition: form-data; name="f"; filename="a"'], b"x")])

    assert read(body)[0] == FileStart("f", "a", OCTET_STREAM)


def test_field_text_is_nfc_with_lf_newlines() -> None:
    body = form_body([text_part("t", "Cafe\u0301\r\nline\rtwo\n".encode())])

    assert read(body) == [Field("t", "Caf\u00e9\nline\rtwo\n")]


def test_preamble_newlines_and_epilogue_are_ignored() -> None:
    body = b"\r\n\r\n" + form_body([text_part("a", b"1")]) + b"epilogue that is ignored"

    assert read(body) == [Field("a", "1")]


def test_quoted_boundary_with_every_allowed_character() -> None:
    body = form_body(
        [text_part("a", b"1"), file_part("f", "x", b"--" + ODD_BOUNDARY.encode())], ODD_BOUNDARY
    )

    assert reassemble(read(body, ODD_CONTENT_TYPE)) == [
        Field("a", "1"),
        Upload("f", "x", "image/jpeg", b"--" + ODD_BOUNDARY.encode()),
    ]


# --- memory stays bounded ----------------------------------------------------------


def test_multi_mib_file_streams_in_bounded_memory() -> None:
    file_size = 8 * 1024 * 1024
    pattern = b"\r\n-\r\n--" + bytes(range(256))  # delimiter look-alikes in every block
    block = pattern * (FEED_BYTES // len(pattern)) + b"z" * (FEED_BYTES % len(pattern))
    assert len(block) == FEED_BYTES
    head, tail = form_body([file_part("f", "video.mp4", b"\x00", b"video/mp4")]).split(b"\x00")
    expected = hashlib.sha256(block * (file_size // FEED_BYTES)).hexdigest()

    async def body() -> AsyncIterator[bytes]:
        # Generated on the fly, so the test itself never holds the whole body either.
        yield head
        for _ in range(file_size // FEED_BYTES):
            yield block
        yield tail

    async def consume() -> tuple[str, int, int, int]:
        digest = hashlib.sha256()
        pieces = largest = 0
        size = -1
        async for event in read_multipart(body(), CONTENT_TYPE, LIMITS):
            if isinstance(event, FileData):
                digest.update(event.data)
                pieces += 1
                largest = max(largest, len(event.data))
            elif isinstance(event, FileEnd):
                size = event.size
        return digest.hexdigest(), pieces, largest, size

    tracemalloc.start()
    try:
        digest, pieces, largest, size = anyio.run(consume)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (digest, size) == (expected, file_size)
    assert pieces >= file_size // FEED_BYTES
    assert largest <= FEED_BYTES
    assert peak < file_size // 16, peak


def test_one_huge_chunk_from_the_server_is_fed_in_bounded_pieces() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    body = form_body([file_part("f", "big.bin", payload)])

    events = read(body)  # one chunk of about 2 MiB

    assert reassemble(events) == [Upload("f", "big.bin", "image/jpeg", payload)]
    assert max(len(e.data) for e in events if isinstance(e, FileData)) <= FEED_BYTES


# --- limits ------------------------------------------------------------------------


def test_body_at_the_cap_is_read_and_one_byte_over_is_refused() -> None:
    body = form_body([text_part("a", b"1")])

    assert read(every(body, 7), limits=Limits(max_body_bytes=len(body))) == [Field("a", "1")]
    with pytest.raises(TooLargeError):
        read(every(body, 7), limits=Limits(max_body_bytes=len(body) - 1))


def test_endless_body_is_refused_as_soon_as_it_passes_the_cap() -> None:
    head = (
        b"--"
        + BOUNDARY.encode()
        + b'\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
    )
    cap = 100_000
    pulled: list[int] = []
    file_bytes: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        # A client that never stops; bounded here only so a regression fails, not hangs.
        yield head
        for _ in range(10 * cap // 1000):
            pulled.append(1000)
            yield b"\x00" * 1000

    async def run() -> None:
        async for event in read_multipart(endless(), CONTENT_TYPE, Limits(max_body_bytes=cap)):
            if isinstance(event, FileData):
                file_bytes.append(len(event.data))

    with pytest.raises(TooLargeError):
        anyio.run(run)
    # Refused on the chunk that crossed the cap, and that chunk never reached the parser.
    assert len(head) + sum(pulled) - 1000 <= cap < len(head) + sum(pulled)
    assert len(head) + sum(file_bytes) <= cap


def test_field_at_the_cap_is_read_and_one_byte_over_is_refused() -> None:
    limits = Limits(max_body_bytes=100_000, max_field_bytes=1000)

    assert read(form_body([text_part("a", b"x" * 1000)]), limits=limits) == [Field("a", "x" * 1000)]
    with pytest.raises(TooLargeError):
        read(every(form_body([text_part("a", b"x" * 1001)]), 100), limits=limits)


def test_field_cap_does_not_apply_to_files() -> None:
    limits = Limits(max_body_bytes=100_000, max_field_bytes=10)

    events = read(form_body([file_part("f", "a", b"x" * 5000)]), limits=limits)

    assert reassemble(events) == [Upload("f", "a", "image/jpeg", b"x" * 5000)]


def test_too_many_fields_are_refused() -> None:
    limits = Limits(max_body_bytes=100_000, max_fields=3)

    assert len(read(form_body([text_part("a", b"")] * 3), limits=limits)) == 3
    with pytest.raises(TooLargeError):
        read(form_body([text_part("a", b"")] * 4), limits=limits)


def test_too_many_files_are_refused() -> None:
    limits = Limits(max_body_bytes=100_000, max_files=2)

    assert len(reassemble(read(form_body([file_part("f", "a", b"x")] * 2), limits=limits))) == 2
    with pytest.raises(TooLargeError):
        read(form_body([file_part("f", "a", b"x")] * 3), limits=limits)


def test_part_headers_over_the_cap_are_refused() -> None:
    limits = Limits(max_body_bytes=100_000, max_header_bytes=500)
    padding = b"X-Padding: " + b"p" * 400

    assert read(
        form_body([part([padding, b"Content-Disposition: form-data; name=a"], b"")]), limits=limits
    )
    with pytest.raises(FormError):
        read(
            form_body([part([padding, padding, b"Content-Disposition: form-data; name=a"], b"")]),
            limits=limits,
        )
    with pytest.raises(FormError):
        read(every(form_body([part([b"X-Long: " + b"v" * 9000], b"")]), 100))


def test_more_than_eight_headers_in_a_part_are_refused() -> None:
    headers = [b"Content-Disposition: form-data; name=a"] + [b"X-H: v"] * 8

    with pytest.raises(FormError):
        read(form_body([part(headers, b"")]))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_files"):
        Limits(max_body_bytes=1, max_files=0)


# --- malformed bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/x-www-form-urlencoded",
        "text/plain; boundary=abc",
        "multipart/mixed; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "multipart/form-data; boundary=" + "a" * 71,
        "multipart/form-data; boundary=abc{}",
        'multipart/form-data; boundary="ends with space "',
        'multipart/form-data; boundary="ünï"',
        "multipart/form-data; boundary=abc; boundary=abd",
        'multipart/form-data; boundary="abc',
        "multipart/form-data; boundary abc",
        "multipart/form-data; boundary=abc junk",
    ],
)
def test_bad_content_type_is_refused(content_type: str | None) -> None:
    with pytest.raises(FormError):
        boundary_from_content_type(content_type)
    with pytest.raises(FormError):
        read(form_body([text_part("a", b"1")]), content_type)


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ("Multipart/Form-Data;Boundary=abc;charset=utf-8", b"abc"),
        ("multipart/form-data; boundary=" + "a" * 70, b"a" * 70),
        ('multipart/form-data; boundary="a b:c"', b"a b:c"),
        ("multipart/form-data; boundary=----WebKitFormBoundaryx9Jq", b"----WebKitFormBoundaryx9Jq"),
    ],
)
def test_good_content_type_gives_its_boundary(content_type: str, boundary: bytes) -> None:
    assert boundary_from_content_type(content_type) == boundary


DISPOSITION = b'Content-Disposition: form-data; name="a"'


def with_disposition(value: bytes) -> bytes:
    """A form of one part whose only header is ``Content-Disposition: <value>``."""
    return form_body([part([b"Content-Disposition: " + value], b"1")])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty body"),
        pytest.param(b"hello world, this is not multipart", id="garbage"),
        pytest.param(b"preamble\r\n" + form_body([text_part("a", b"1")]), id="text preamble"),
        pytest.param(
            form_body([text_part("a", b"1")]).replace(BOUNDARY.encode(), b"other"),
            id="wrong boundary",
        ),
        pytest.param(form_body([part([], b"1")]), id="no headers"),
        pytest.param(
            form_body([part([b"Content-Type: text/plain"], b"1")]), id="no content-disposition"
        ),
        pytest.param(with_disposition(b"form-data"), id="no name"),
        pytest.param(with_disposition(b'form-data; name=""'), id="empty name"),
        pytest.param(with_disposition(b'attachment; name="a"'), id="attachment"),
        pytest.param(with_disposition(b'name="a"'), id="no type"),
        pytest.param(form_body([text_part("a b", b"1")]), id="space in name"),
        pytest.param(form_body([text_part("a" * 101, b"1")]), id="name too long"),
        pytest.param(form_body([text_part("имя", b"1")]), id="non-ascii name"),
        pytest.param(form_body([part([DISPOSITION, DISPOSITION], b"1")]), id="two dispositions"),
        pytest.param(
            form_body([part([DISPOSITION, b"Content-Type: a/b", b"Content-Type: c/d"], b"1")]),
            id="two content-types",
        ),
        pytest.param(
            with_disposition(b'form-data; name="a"; name="b"'),
            id="name twice",
        ),
        pytest.param(with_disposition(b'form-data; name="a'), id="unterminated quote"),
        pytest.param(with_disposition(b'form-data; name="a\\'), id="escape at end"),
        pytest.param(with_disposition(b'form-data; name="a" junk'), id="junk after value"),
        pytest.param(with_disposition(b"form-data; name"), id="parameter without value"),
        pytest.param(with_disposition(b"form-data;; name=a"), id="empty parameter"),
        pytest.param(
            with_disposition(b"form-data; name=a; filename=\xff.jpg"),
            id="non-utf8 unquoted filename",
        ),
        pytest.param(
            with_disposition(b'form-data; name=a; filename="\xc0\xaf.jpg"'),
            id="overlong utf8 filename",
        ),
        pytest.param(
            with_disposition(b"form-data; name=a; filename*=ISO-8859-1''%E9.txt"),
            id="filename* latin-1",
        ),
        pytest.param(
            with_disposition(b"form-data; name=a; filename*=UTF-8''%ZZ.txt"),
            id="filename* bad escape",
        ),
        pytest.param(
            with_disposition(b"form-data; name=a; filename*=UTF-8''%FF.txt"),
            id="filename* invalid utf8",
        ),
        pytest.param(
            with_disposition(b"form-data; name=a; filename*=a.txt"),
            id="filename* without charset",
        ),
        pytest.param(
            form_body([part([b"Bad Header: x", DISPOSITION], b"1")]), id="space in header name"
        ),
        pytest.param(form_body([part([b": x", DISPOSITION], b"1")]), id="empty header name"),
        pytest.param(form_body([text_part("a", b"\xff")]), id="invalid utf8 value"),
        pytest.param(form_body([text_part("a", b"\xc0\xaf")]), id="overlong utf8 value"),
        pytest.param(form_body([text_part("a", b"\xed\xa0\x80")]), id="surrogate in value"),
        pytest.param(
            form_body([text_part("a", "abc\u00e9".encode()[:-1])]), id="truncated utf8 value"
        ),
        pytest.param(form_body([text_part("a", b"before\x00after")]), id="nul in value"),
        pytest.param(b"--" + BOUNDARY.encode() + b"X\r\n", id="junk after first boundary"),
    ],
)
def test_malformed_body_is_refused(body: bytes) -> None:
    for chunks in ([body], every(body, 3)):
        with pytest.raises(FormError) as caught:
            read(chunks)
        assert_clean(caught.value)


def test_missing_closing_boundary_is_a_cut_off_upload() -> None:
    body = form_body([text_part("a", b"1"), file_part("f", "a.jpg", b"data")])
    without_close = body[: body.rindex(b"--" + BOUNDARY.encode())]

    with pytest.raises(FormError, match=CUT_OFF_MESSAGE):
        read(without_close)


def test_every_early_end_of_stream_is_a_cut_off_upload() -> None:
    body = form_body(
        [text_part("a", b"1"), file_part("f", "a.jpg", b"\r\n--\r\n" * 3), text_part("b", b"")]
    )
    # The closing delimiter ends the form; the CRLF after it is optional epilogue.
    complete_at = len(body) - 2

    for end in range(complete_at):
        with pytest.raises(FormError, match=CUT_OFF_MESSAGE):
            read(every(body[:end], 5))
    for end in (complete_at, len(body)):
        assert len(reassemble(read(body[:end]))) == 3


def test_errors_carry_no_input() -> None:
    canary = b"CANARY-7f3a"
    bodies = [
        form_body([text_part("a", canary + b"\xff")]),
        form_body([text_part("a", canary + b"\x00")]),
        form_body([part([b"Content-Disposition: form-data; name=" + canary + b"!"], b"")]),
        form_body(
            [
                part(
                    [
                        b"Content-Disposition: form-data; name=a; filename*=UTF-8''"
                        + canary
                        + b"%FF"
                    ],
                    b"",
                )
            ]
        ),
        b"--" + BOUNDARY.encode() + b"\r\n" + canary + b"\r\n\r\n",
        canary * 10,
    ]
    for body in bodies:
        with pytest.raises(FormError) as caught:
            read(body)
        assert_clean(caught.value, canary)


def test_library_warnings_about_input_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(FormError):
        read(b"--" + BOUNDARY.encode() + b"X SECRET\r\n")
    with pytest.raises(FormError):
        read(form_body([part([b"Bad\x01Header: SECRET"], b"")]))

    # asyncio logs its own start-up at DEBUG; everything else must stay silent.
    assert [record for record in caplog.records if record.name != "asyncio"] == []


# --- filename sanitizing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\a.jpg", "a.jpg"),
        ("dir/sub\\mixed/b.png", "b.png"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("a\u200bb\u2066c\u2069.txt", "abc.txt"),
        ("nul\x00byte\x1b[31m.txt", "nulbyte[31m.txt"),
        ("tab\there  and\u00a0\u2003spaces.txt", "tab here and spaces.txt"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        ("...", "file"),
        ("/", "file"),
        ("../", "file"),
        (" \u202e ", "file"),
        (".bashrc", "bashrc"),
        (". .hidden", "hidden"),
        (".\u200b./x", "x"),
        (".\u200b.", "file"),
        ("name. ", "name"),
        ("Cafe\u0301.txt", "Caf\u00e9.txt"),
        ("Фото допроса.jpg", "Фото допроса.jpg"),
    ],
)
def test_sanitize_filename_table(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_filename_is_cut_to_255_bytes_keeping_the_extension() -> None:
    assert sanitize_filename("a" * 300 + ".jpeg") == "a" * 250 + ".jpeg"
    assert sanitize_filename("a" * 300) == "a" * 255


def test_long_multibyte_filename_is_cut_on_a_character_boundary() -> None:
    name = sanitize_filename("ж" * 300 + ".pdf")  # two bytes each

    assert name == "ж" * 125 + ".pdf"
    assert len(name.encode()) == 254


def test_long_filename_with_an_implausible_extension_is_cut_plainly() -> None:
    name = sanitize_filename("a" * 300 + "." + "b" * 40)

    assert name == "a" * 255


CONTROL_OR_FORMAT = {"Cc", "Cf", "Cs"}


@given(st.text(max_size=400))
def test_sanitize_filename_properties(raw: str) -> None:
    name = sanitize_filename(raw)

    assert name
    assert len(name.encode("utf-8")) <= 255
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith((".", " "))
    assert not name.endswith((".", " "))
    assert "  " not in name
    assert all(unicodedata.category(ch) not in CONTROL_OR_FORMAT for ch in name)
    assert all(not ch.isspace() or ch == " " for ch in name)
    assert unicodedata.is_normalized("NFC", name)
    assert sanitize_filename(name) == name


# --- property tests over random forms ----------------------------------------------

# Byte strings that look like the start of a delimiter, to catch look-behind bugs.
DELIMITER = b"\r\n--" + BOUNDARY.encode()
TRICKY = [
    b"\r",
    b"\n",
    b"\r\n",
    b"-",
    b"--",
    b"\r\n-",
    b"\r\n--",
    DELIMITER[:10],
    DELIMITER[:-1],
    DELIMITER[:-1] + b"--",
    DELIMITER[2:] + b"\r\n",
    b"--" + BOUNDARY.encode() + b"--",
]
content_pieces = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(TRICKY),
    # Large but cheap to generate: a short pattern repeated up to a few hundred KiB.
    st.builds(
        lambda pattern, times: pattern * times,
        st.binary(min_size=1, max_size=8),
        st.integers(0, 40_000),
    ),
)
file_contents = st.lists(content_pieces, max_size=8).map(b"".join)
field_names = st.from_regex(r"[A-Za-z0-9_.\-\[\]]{1,20}", fullmatch=True)
field_values = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200
) | st.lists(st.sampled_from(["\r\n", "\r", "\n", "--", "e\u0301", "x"]), max_size=30).map("".join)
filenames = st.one_of(
    st.just(""),
    st.from_regex(r"[A-Za-z0-9_\-]{1,20}(\.[a-z]{1,4})?", fullmatch=True),
)
media_types = st.sampled_from([b"image/jpeg", b"application/pdf", b"video/mp4", b"text/plain"])


@st.composite
def forms(draw: st.DrawFn) -> tuple[bytes, list[Field | Upload]]:
    """A random form body and what the reader must give back for it."""
    parts: list[bytes] = []
    expected: list[Field | Upload] = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(field_names)
        if draw(st.booleans()):
            value = draw(field_values)
            parts.append(text_part(name, value.encode()))
            expected.append(Field(name, unicodedata.normalize("NFC", value.replace("\r\n", "\n"))))
        else:
            filename, data, media_type = draw(filenames), draw(file_contents), draw(media_types)
            assume(DELIMITER not in data)
            parts.append(file_part(name, filename, data, media_type))
            if filename or data:
                expected.append(Upload(name, filename or "file", media_type.decode(), data))
    return form_body(parts), expected


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(forms(), st.data())
def test_random_forms_split_anywhere_reassemble_exactly(
    form: tuple[bytes, list[Field | Upload]], data: st.DataObject
) -> None:
    body, expected = form
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=40))

    events = read(split_at(body, cuts))

    assert reassemble(events) == expected
    assert all(len(e.data) <= FEED_BYTES for e in events if isinstance(e, FileData))


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(forms(), st.integers(1, 9))
def test_small_random_forms_in_tiny_chunks_reassemble_exactly(
    form: tuple[bytes, list[Field | Upload]], chunk_size: int
) -> None:
    body, expected = form
    assume(len(body) <= 20_000)

    assert reassemble(read(every(body, chunk_size))) == expected


@settings(deadline=None, max_examples=300)
@given(
    st.binary(max_size=600), st.sampled_from([b"", b"--" + BOUNDARY.encode() + b"\r\n"]), st.data()
)
def test_garbage_only_ever_fails_with_our_errors(
    junk: bytes, prefix: bytes, data: st.DataObject
) -> None:
    body = prefix + junk
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=10))

    try:
        reassemble(read(split_at(body, cuts), limits=Limits(max_body_bytes=100_000)))
    except (FormError, TooLargeError) as error:
        assert_clean(error)


@settings(deadline=None, max_examples=300)
@given(forms(), st.data())
def test_mutated_forms_only_ever_fail_with_our_errors(
    form: tuple[bytes, list[Field | Upload]], data: st.DataObject
) -> None:
    body = bytearray(form[0])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body)))
        edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = data.draw(
            st.sampled_from([b"\r", b"\n", b"-", b'"', b";", b":", b"\x00", b"\xff", b"a"])
        )
        if edit == "insert":
            body[at:at] = byte
        elif edit == "delete":
            del body[at : at + 1]
        else:
            body[at : at + 1] = byte
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=10))

    try:
        reassemble(read(split_at(bytes(body), cuts)))
    except (FormError, TooLargeError) as error:
        assert_clean(error)
