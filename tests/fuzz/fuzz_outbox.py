"""atheris target: the server's outbox reader (JSON, records, signatures)."""

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.contract.outbox import decode
    from service.common.crypto.keys import generate_signing_keypair
from tests.fuzz.common import fuzz

KEYS = {"kz": generate_signing_keypair().verify}

if __name__ == "__main__":
    fuzz(lambda data: decode(data, KEYS))
