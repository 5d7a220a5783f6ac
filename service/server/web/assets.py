"""The scripts the intake site serves, and their Subresource Integrity values.

``upload.js`` is ours: it seals files in the browser when JavaScript is on (the pages
work the same without it). ``vendor/`` holds libsodium.js copied byte for byte from npm
at a pinned version; ``vendor/MANIFEST.json`` records where each file came from, the npm
tarball integrity and the file's hashes, and ``tests/web/test_assets.py`` recomputes them
and compares the files with the ones npm installs from ``tests/node/package-lock.json``.

A page names every script with ``integrity=``. For the vendored files the value comes
from the committed manifest, not from the file on disk, so a file swapped on the server
without the manifest is refused by the browser (the form path still works then).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path

from service.common.errors import NotFoundError

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
MANIFEST = VENDOR_DIR / "MANIFEST.json"
OWN_SCRIPTS = ("upload.js",)
JS_MEDIA_TYPE = "text/javascript; charset=utf-8"


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@cache
def manifest() -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = json.loads(MANIFEST.read_text("utf-8"))["files"]
    return files


@cache
def script(name: str) -> bytes:
    """The bytes of a script by its path under /static/; NotFoundError for any other."""
    if name in OWN_SCRIPTS:
        return (STATIC_DIR / name).read_bytes()
    vendor = name.removeprefix("vendor/")
    if name.startswith("vendor/") and vendor in manifest():
        return (VENDOR_DIR / vendor).read_bytes()
    raise NotFoundError()


@cache
def integrity(name: str) -> str:
    """The value for ``<script integrity=...>`` (or ``script.integrity`` in upload.js)."""
    vendor = name.removeprefix("vendor/")
    if name.startswith("vendor/") and vendor in manifest():
        return manifest()[vendor]["sri"]
    return sri(script(name))
