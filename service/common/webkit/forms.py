"""Read small ``application/x-www-form-urlencoded`` bodies strictly.

Used for the answers and follow-up messages (no files: files go through
``service.server.web.multipart``). Starlette's form parser would decode invalid UTF-8 leniently;
here it is an error, as are NUL bytes, so what reaches the sealer is exactly what the
person typed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from service.common.errors import FormError, TooLargeError

MAX_FIELDS = 200


async def read_body(stream: AsyncIterator[bytes], limit: int) -> bytes:
    """Collect a request body, refusing it as soon as it passes ``limit`` bytes."""
    body = bytearray()
    async for chunk in stream:
        body += chunk
        if len(body) > limit:
            raise TooLargeError()
    return bytes(body)


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """Decode a form body into name → values. Raises FormError on anything malformed."""
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError() from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        if "\x00" in name:
            raise FormError()
        fields.setdefault(name, []).append(clean_field_value(value))
    return fields


def clean_field_value(text: str) -> str:
    """The rules every text field follows, whatever form encoding carried it.

    NUL is refused, not stripped (it truncates strings in C code and some databases, and
    the person should see an error rather than silently lose the rest); browsers send
    newlines as CRLF and Aryz stores ``\n``; text is NFC so equal text is equal bytes.
    """
    if "\x00" in text:
        raise FormError()
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
