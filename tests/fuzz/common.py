"""What every atheris target shares: run one parser on fuzzer bytes under libFuzzer.

A crash is any exception outside our error tree (``service.common.errors.AryzError``) — that
escapes ``one_input`` and libFuzzer stops with the input saved — or an input that takes
longer than libFuzzer's ``-timeout`` (a hang). Run a target alone with::

    .venv/bin/python -m tests.fuzz.fuzz_bundle -max_total_time=60
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris  # type: ignore[import-untyped]  # no stubs; only tests/fuzz uses it

from service.common.errors import AryzError


def fuzz(parse: Callable[[bytes], object]) -> None:
    def one_input(data: bytes) -> None:
        # Our fixed, clean refusal is what garbage must get; anything else escapes.
        with contextlib.suppress(AryzError):
            parse(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
