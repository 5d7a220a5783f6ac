"""The one strict JSON reader for sealed payloads (ENVELOPE-v1.md §8.1).

Python's ``json`` module accepts things a reader in another language would read
differently, or that cost unbounded memory and stack: repeated keys (the last one wins),
lone surrogates (``"\\ud800"``), numbers beyond any double (``1e400`` becomes infinity),
``NaN``, and nesting as deep as the interpreter's stack allows. Sealed payloads come from
anyone who knows a coalition's public key, so every rule here is a refusal, and every
limit is checked before the expensive step it protects:

- the bytes are at most ``max_bytes`` long and are strict UTF-8 without a byte-order mark;
- the nesting of arrays and objects is at most ``max_depth`` deep, and the text holds at
  most ``max_values`` of the characters ``[``, ``{`` and ``,`` outside strings (so about
  that many values in all), both counted on the raw text before any parsing, so no input
  can exhaust the stack or make millions of objects;
- object keys are unique after unescaping; no key or string holds a lone surrogate;
- a number is an integer within ±(2^53 − 1) or a finite double, never ``NaN`` or
  ``Infinity``; an integer spelled with more than 16 digits is refused unread;
- no string (key or value) longer than ``max_string`` characters.

:func:`loads` raises :class:`JsonLimitError` when a limit is exceeded and
:class:`JsonRuleError` for anything else that is not valid; both are ``ValueError``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

MAX_SAFE_INTEGER = (1 << 53) - 1
_MAX_INT_DIGITS = 16
_BOM = b"\xef\xbb\xbf"
# The rest of a JSON string after its opening quote: no raw quote inside, a backslash
# escapes one character. Matched once per string, anchored: linear on hostile input.
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURE = re.compile(r'[\[\]{},"]')


class JsonRuleError(ValueError):
    """Not JSON, or JSON that breaks a rule of §8.1."""


class JsonLimitError(ValueError):
    """Valid-looking JSON that is larger, deeper or wider than the reader's limits."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_depth: int
    max_values: int
    max_string: int


def loads(raw: bytes, limits: Limits) -> object:
    """Parse ``raw`` under the rules above; return the value."""
    if len(raw) > limits.max_bytes:
        raise JsonLimitError("too large")
    if raw.startswith(_BOM):
        raise JsonRuleError("byte-order mark")
    try:
        text = raw.decode("utf-8")  # strict: refuses encoded surrogates and overlongs too
    except UnicodeDecodeError:
        raise JsonRuleError("not UTF-8") from None
    _check_structure(text, limits)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_refuse_constant,
            parse_int=_integer,
            parse_float=_double,
        )
    except (JsonLimitError, JsonRuleError):
        raise
    except (ValueError, RecursionError):
        # RecursionError cannot happen after the depth check; kept as a second fence.
        raise JsonRuleError("not JSON") from None
    _check_strings(value, limits.max_string)
    return value


def _check_structure(text: str, limits: Limits) -> None:
    """Refuse nesting deeper than ``max_depth``, or more than ``max_values`` of ``[ { ,``,
    without parsing. Characters inside strings do not count; a string that never ends
    runs to the end of the text (the parser then refuses it). One pass: linear."""
    depth = values = position = 0
    while (found := _STRUCTURE.search(text, position)) is not None:
        char, position = found.group(), found.end()
        if char == '"':
            rest = _STRING_REST.match(text, position)
            if rest is None:
                return
            position = rest.end()
        elif char in "]}":
            depth -= 1
        else:
            values += 1
            if values > limits.max_values:
                raise JsonLimitError("too many values")
            if char != ",":
                depth += 1
                if depth > limits.max_depth:
                    raise JsonLimitError("too deep")


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # A repeated key could show one value to one reader and another to another.
        raise JsonRuleError("duplicate key")
    return result


def _refuse_constant(_name: str) -> object:
    raise JsonRuleError("NaN and Infinity are not JSON")


def _integer(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > _MAX_INT_DIGITS:
        raise JsonRuleError("integer out of range")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise JsonRuleError("integer out of range")
    return value


def _double(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRuleError("number out of range")
    return value


def _check_strings(value: object, max_string: int) -> None:
    """Every key and string: no lone surrogate, at most ``max_string`` characters.

    Iterative, so it needs no stack whatever the (already bounded) depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _check_string(item, max_string)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_string(key, max_string)
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)


def _check_string(text: str, max_string: int) -> None:
    if len(text) > max_string:
        raise JsonLimitError("string too long")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRuleError("lone surrogate") from None
