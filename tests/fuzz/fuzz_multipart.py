"""atheris target: the streaming multipart reader, the body cut into two chunks."""

from collections.abc import AsyncIterator

import anyio
import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.server.web.multipart import Limits, read_multipart
from tests.fuzz.common import fuzz

CONTENT_TYPE = "multipart/form-data; boundary=b"
LIMITS = Limits(max_body_bytes=1 << 20)


async def _read(chunks: list[bytes]) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async for _event in read_multipart(stream(), CONTENT_TYPE, LIMITS):
        pass


def parse(data: bytes) -> None:
    cut = data[0] % (len(data) or 1) if data else 0
    body = b"--b\r\n" + data[1:]
    anyio.run(_read, [body[:cut], body[cut:]])


if __name__ == "__main__":
    fuzz(parse)
