"""atheris target: the courier Authorization header parser (never raises: proof or None)."""

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.contract.courier_auth import parse
from tests.fuzz.common import fuzz

if __name__ == "__main__":
    fuzz(lambda data: parse(data.decode("latin-1")))
