"""atheris target: opening a sealed item (header, recipients, framed secretstream)."""

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.crypto.envelope import open_envelope, seal
    from service.common.crypto.keys import generate_box_keypair
from tests.fuzz.common import fuzz

KEY = generate_box_keypair()
# Start the fuzzer from a real envelope too, so mutations reach past the header.
SEED = seal(b"x" * 100, [KEY.public])


def parse(data: bytes) -> None:
    open_envelope(data, [KEY])
    open_envelope(SEED[: len(data) % (len(SEED) + 1)] + data, [KEY])


if __name__ == "__main__":
    fuzz(parse)
