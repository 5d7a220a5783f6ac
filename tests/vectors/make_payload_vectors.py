"""Write tests/vectors/payload-v1.json: the payload layer (ENVELOPE-v1.md §8).

Run from the repository root:

    .venv/bin/python tests/vectors/make_payload_vectors.py

Deterministic: the vectors are envelope *plaintexts* (no sealing), so a reader checks
§8 by feeding each plaintext to its payload reader, with no keys involved. Each vector:

- ``expect``: ``ok`` or ``envelope_format`` — the verdict of §8.1 (layout and JSON rules);
- ``desk``: what a desk does with the item after §8.2 (metadata values) and §8.3 (bodies):
  ``ok``, ``unreadable``, ``malformed`` or ``too_large``;
- for ``expect: ok``: ``meta`` (the metadata object) and ``body_sha256``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEY = "5f" * 32  # a case_public_key of the right form (64 lowercase hex digits)


def raw(meta: bytes, body: bytes = b"", length: int | None = None) -> bytes:
    size = len(meta) if length is None else length
    return size.to_bytes(4, "big") + meta + body


def meta_json(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


FILE = {"type": "file", "name": "photo.jpg", "media_type": "image/jpeg", "created": "2026-W49"}
ANSWERS_META = {
    "type": "answers",
    "created": "2026-W49",
    "case_public_key": KEY,
    "questionnaire": {"id": "intake-basic", "version": 1, "sha256": "ab" * 32},
}
MESSAGE_META = {"type": "message", "created": "2026-W49", "media_type": "text/plain; charset=utf-8"}


def answers(body: bytes) -> bytes:
    return raw(meta_json(ANSWERS_META), body)


def nested(depth: int) -> bytes:
    """Metadata whose deepest value sits ``depth`` levels down (the object is level 1)."""
    return b'{"type":"file","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


GOOD_ANSWERS = json.dumps(
    {
        "answers": {"narrative.text": "Задержан 3 дня", "detained": "yes", "who": ["a", "b"]},
        "coalition": "kz-coalition",
        "country": "KZ",
        "language": "ru",
    },
    ensure_ascii=False,
    sort_keys=True,
).encode()

# (name, description, plaintext, expect, desk)
CASES: list[tuple[str, str, bytes, str, str]] = [
    # §8 layout
    ("ok-file", "a file item", raw(meta_json(FILE), b"\xff\xd8 bytes"), "ok", "ok"),
    ("ok-empty-body", "a file of 0 bytes", raw(meta_json(FILE)), "ok", "ok"),
    ("layout-empty", "0 bytes: no length", b"", "envelope_format", "malformed"),
    (
        "layout-three-bytes",
        "3 bytes: shorter than the length",
        b"\0\0\0",
        "envelope_format",
        "malformed",
    ),
    (
        "layout-length-over-64k",
        "L = 65537",
        raw(b"{}", length=65537),
        "envelope_format",
        "malformed",
    ),
    (
        "layout-ends-in-meta",
        "L = 100, 2 bytes follow",
        raw(b"{}", length=100),
        "envelope_format",
        "malformed",
    ),
    (
        "layout-length-zero",
        "L = 0: empty metadata is not JSON",
        raw(b""),
        "envelope_format",
        "malformed",
    ),
    (
        "layout-length-65536",
        "L = 65536 exactly",
        raw(b'{"type":"file","pad":"' + b"p" * (65536 - 24) + b'"}'),
        "ok",
        "ok",
    ),
    # §8.1 bytes
    (
        "utf8-invalid",
        "\\xff in a string",
        raw(b'{"type":"file","name":"\xff"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "utf8-overlong",
        "overlong '/' (C0 AF)",
        raw(b'{"type":"file","name":"\xc0\xaf"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "utf8-encoded-surrogate",
        "U+D800 encoded in UTF-8 (ED A0 80)",
        raw(b'{"type":"file","name":"\xed\xa0\x80"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "bom",
        "a UTF-8 byte-order mark before the object",
        raw(b'\xef\xbb\xbf{"type":"file"}'),
        "envelope_format",
        "malformed",
    ),
    # §8.1 JSON
    ("json-not-json", "not JSON", raw(b"type=file"), "envelope_format", "malformed"),
    (
        "json-array",
        "an array, not an object",
        raw(b'["type","file"]'),
        "envelope_format",
        "malformed",
    ),
    ("json-string", "a string, not an object", raw(b'"file"'), "envelope_format", "malformed"),
    (
        "json-trailing-data",
        "data after the object",
        raw(b'{"type":"file"} x'),
        "envelope_format",
        "malformed",
    ),
    (
        "json-trailing-comma",
        "a trailing comma",
        raw(b'{"type":"file",}'),
        "envelope_format",
        "malformed",
    ),
    (
        "json-single-quotes",
        "single quotes",
        raw(b"{'type':'file'}"),
        "envelope_format",
        "malformed",
    ),
    (
        "json-unterminated-string",
        "a string that never ends, full of escaped quotes and brackets",
        raw(b'{"type":"file","name":"' + b'\\"[{,' * 5000),
        "envelope_format",
        "malformed",
    ),
    (
        "json-raw-control",
        "a raw U+0001 in a string",
        raw(b'{"type":"file","name":"a\x01"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "json-bad-escape",
        "the escape \\x41",
        raw(b'{"type":"file","name":"\\x41"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "json-whitespace",
        "spaces, tabs and newlines between tokens",
        raw(b' {\t"type" :\n"file" }\r\n'),
        "ok",
        "ok",
    ),
    (
        "json-unsorted",
        "keys not sorted, spaces: valid (canonical form is not required)",
        raw(b'{"name": "a", "type": "file"}'),
        "ok",
        "ok",
    ),
    (
        "dup-key",
        "a repeated key",
        raw(b'{"type":"file","type":"answers"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "dup-key-escaped",
        "keys equal after unescaping: type and typ\\u0065",
        raw(b'{"type":"file","typ\\u0065":"answers"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "dup-key-nested",
        "a repeated key in a nested object",
        raw(b'{"type":"file","q":{"a":1,"a":2}}'),
        "envelope_format",
        "malformed",
    ),
    (
        "escaped-distinct-keys",
        "\\u0041 and a are different keys",
        raw(b'{"type":"file","\\u0041":1,"a":2}'),
        "ok",
        "ok",
    ),
    (
        "surrogate-lone-high",
        "\\ud800 alone",
        raw(b'{"type":"file","name":"\\ud800"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "surrogate-lone-low",
        "\\udc00 alone",
        raw(b'{"type":"file","name":"\\udc00"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "surrogate-reversed",
        "\\udc00\\ud800: low before high",
        raw(b'{"type":"file","name":"\\udc00\\ud800"}'),
        "envelope_format",
        "malformed",
    ),
    (
        "surrogate-in-key",
        "a lone surrogate in a key",
        raw(b'{"type":"file","\\ud800":1}'),
        "envelope_format",
        "malformed",
    ),
    (
        "surrogate-pair",
        "\\ud83d\\ude00: a valid pair",
        raw(b'{"type":"file","name":"\\ud83d\\ude00"}'),
        "ok",
        "ok",
    ),
    ("number-nan", "NaN", raw(b'{"type":"file","n":NaN}'), "envelope_format", "malformed"),
    (
        "number-infinity",
        "-Infinity",
        raw(b'{"type":"file","n":-Infinity}'),
        "envelope_format",
        "malformed",
    ),
    ("number-max-int", "2^53 - 1", raw(b'{"type":"file","n":9007199254740991}'), "ok", "ok"),
    ("number-min-int", "-(2^53 - 1)", raw(b'{"type":"file","n":-9007199254740991}'), "ok", "ok"),
    (
        "number-int-2-53",
        "2^53: an integer out of range",
        raw(b'{"type":"file","n":9007199254740992}'),
        "envelope_format",
        "malformed",
    ),
    (
        "number-int-huge",
        "a 30-digit integer",
        raw(b'{"type":"file","n":-123456789012345678901234567890}'),
        "envelope_format",
        "malformed",
    ),
    ("number-float", "1.5e300: a finite double", raw(b'{"type":"file","n":1.5e300}'), "ok", "ok"),
    (
        "number-float-overflow",
        "1e400 overflows a double",
        raw(b'{"type":"file","n":1e400}'),
        "envelope_format",
        "malformed",
    ),
    (
        "number-float-negative-overflow",
        "-1e400",
        raw(b'{"type":"file","n":-1e400}'),
        "envelope_format",
        "malformed",
    ),
    (
        "number-exponent-integer",
        "1E3 has an exponent: a double, valid",
        raw(b'{"type":"file","n":1E3}'),
        "ok",
        "ok",
    ),
    (
        "number-leading-zero",
        "01 is not JSON",
        raw(b'{"type":"file","n":01}'),
        "envelope_format",
        "malformed",
    ),
    ("depth-16", "nesting 16 levels deep (the limit)", raw(nested(16)), "ok", "ok"),
    (
        "width-4096",
        "4096 of [ { , outside strings (the limit)",
        raw(b'{"type":"file","x":[' + b",".join([b"0"] * 4094) + b"]}"),
        "ok",
        "ok",
    ),
    (
        "width-4097",
        "4097 of [ { , outside strings",
        raw(b'{"type":"file","x":[' + b",".join([b"0"] * 4095) + b"]}"),
        "envelope_format",
        "malformed",
    ),
    (
        "width-in-string",
        "commas inside a string do not count",
        raw(b'{"type":"file","x":"' + b"," * 5000 + b'"}'),
        "ok",
        "ok",
    ),
    ("depth-17", "nesting 17 levels deep", raw(nested(17)), "envelope_format", "malformed"),
    (
        "depth-in-string",
        "brackets inside a string do not nest",
        raw(b'{"type":"file","n":"' + b"[" * 100 + b'"}'),
        "ok",
        "ok",
    ),
    # §8.2 metadata values
    ("meta-type-unknown", "type evil", raw(b'{"type":"evil"}'), "ok", "unreadable"),
    ("meta-type-missing", "no type", raw(b'{"name":"a"}'), "ok", "unreadable"),
    ("meta-type-not-string", "type 1", raw(b'{"type":1}'), "ok", "unreadable"),
    (
        "meta-type-reply",
        "a reply is not a submitter's item",
        raw(b'{"type":"reply"}'),
        "ok",
        "unreadable",
    ),
    (
        "meta-created-time",
        "a precise time",
        raw(b'{"created":"2026-12-03T10:00Z","type":"file"}'),
        "ok",
        "malformed",
    ),
    (
        "meta-created-week-54",
        "week 54 does not exist",
        raw(b'{"created":"2026-W54","type":"file"}'),
        "ok",
        "malformed",
    ),
    (
        "meta-case-key-uppercase",
        "case_public_key in uppercase hex",
        raw(meta_json({"type": "file", "case_public_key": KEY.upper()})),
        "ok",
        "malformed",
    ),
    (
        "meta-case-key-short",
        "case_public_key of 62 digits",
        raw(meta_json({"type": "file", "case_public_key": KEY[:62]})),
        "ok",
        "malformed",
    ),
    ("meta-name-number", "name 5", raw(b'{"name":5,"type":"file"}'), "ok", "malformed"),
    (
        "meta-name-too-long",
        "name of 1025 characters",
        raw(meta_json({"type": "file", "name": "n" * 1025})),
        "ok",
        "malformed",
    ),
    (
        "meta-name-1024",
        "name of 1024 characters",
        raw(meta_json({"type": "file", "name": "n" * 1024})),
        "ok",
        "ok",
    ),
    (
        "meta-media-type-list",
        "media_type a list",
        raw(b'{"media_type":["a"],"type":"file"}'),
        "ok",
        "malformed",
    ),
    (
        "meta-questionnaire-string",
        "questionnaire a string",
        raw(b'{"questionnaire":"x","type":"file"}'),
        "ok",
        "malformed",
    ),
    (
        "meta-unknown-key",
        "an unknown key is ignored",
        raw(b'{"type":"file","x-extra":{"a":[1]}}'),
        "ok",
        "ok",
    ),
    # §8.3 bodies
    ("answers-ok", "answers as the intake writes them", answers(GOOD_ANSWERS), "ok", "ok"),
    (
        "answers-entries",
        "a repeated group: a list of objects of strings and lists of strings",
        answers(b'{"answers":{"places":[{"name":"IVS","when":["a","b"]}]},"country":null}'),
        "ok",
        "ok",
    ),
    ("answers-poison", "10000 '[' (F-01)", answers(b"[" * 10_000), "ok", "too_large"),
    (
        "answers-depth-9",
        "answers nested 9 levels",
        answers(b'{"answers":{"a":' + b"[" * 7 + b"]" * 7 + b"}}"),
        "ok",
        "too_large",
    ),
    ("answers-not-json", "not JSON", answers(b"not json"), "ok", "unreadable"),
    ("answers-list", "a list", answers(b'[{"answers":{}}]'), "ok", "unreadable"),
    ("answers-missing", "no answers key", answers(b'{"country":"KZ"}'), "ok", "unreadable"),
    (
        "answers-number",
        "an answer that is a number",
        answers(b'{"answers":{"a":1}}'),
        "ok",
        "unreadable",
    ),
    (
        "answers-dup-key",
        "a repeated key",
        answers(b'{"answers":{"a":"x","a":"y"}}'),
        "ok",
        "unreadable",
    ),
    (
        "answers-bom",
        "a byte-order mark",
        answers(b'\xef\xbb\xbf{"answers":{}}'),
        "ok",
        "unreadable",
    ),
    (
        "answers-lone-surrogate",
        "a lone surrogate",
        answers(b'{"answers":{"a":"\\ud800"}}'),
        "ok",
        "unreadable",
    ),
    ("answers-float-overflow", "1e400", answers(b'{"answers":{},"n":1e400}'), "ok", "unreadable"),
    (
        "message-ok",
        "UTF-8 text",
        raw(meta_json(MESSAGE_META), "Вернули телефон.".encode()),
        "ok",
        "ok",
    ),
    ("message-empty", "an empty message", raw(meta_json(MESSAGE_META)), "ok", "ok"),
    (
        "message-not-utf8",
        "bytes that are not UTF-8",
        raw(meta_json(MESSAGE_META), b"\xff\xfe"),
        "ok",
        "malformed",
    ),
]


def payload_vectors() -> dict[str, Any]:
    vectors = []
    for name, description, plaintext, expect, desk in CASES:
        entry: dict[str, Any] = {
            "name": name,
            "description": description,
            "plaintext": plaintext.hex(),
            "expect": expect,
            "desk": desk,
        }
        if expect == "ok":
            length = int.from_bytes(plaintext[:4], "big")
            entry["meta"] = json.loads(plaintext[4 : 4 + length].decode("utf-8"))
            entry["body_sha256"] = hashlib.sha256(plaintext[4 + length :]).hexdigest()
        vectors.append(entry)
    return {
        "format": "aryz-payload-v1",
        "spec": "service/common/crypto/ENVELOPE-v1.md section 8",
        "note": "Envelope plaintexts. expect: the payload verdict of 8.1; desk: 8.2 and 8.3.",
        "vectors": vectors,
    }


def main() -> None:
    path = HERE / "payload-v1.json"
    path.write_text(
        json.dumps(payload_vectors(), indent=1, ensure_ascii=True) + "\n", encoding="ascii"
    )
    sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
