"""atheris target: the case token parser, on any text (decoded as UTF-8, lossily)."""

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.crypto.token import parse_token
from tests.fuzz.common import fuzz

if __name__ == "__main__":
    fuzz(lambda data: parse_token(data.decode("utf-8", "surrogateescape")))
