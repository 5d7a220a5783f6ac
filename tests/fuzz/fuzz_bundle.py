"""atheris target: the desk's bundle reader (manifest, then every item)."""

import io

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

with atheris.instrument_imports():
    from service.common.contract.bundle import read_items, read_manifest
from tests.fuzz.common import fuzz


def parse(data: bytes) -> None:
    stream = io.BytesIO(data)
    for _item in read_items(stream, read_manifest(stream)):
        pass


if __name__ == "__main__":
    fuzz(parse)
