"""Build the desk's offline install kit: ``make desk-bundle`` (issue 16 item 8).

Run on the online machine, with the project's own virtualenv::

    .venv/bin/python deploy/desk/make_bundle.py OUT_DIR

OUT_DIR (new or empty) receives, for a USB stick::

    wheels/                  every wheel the desk needs (its dependencies only, exact
                             versions from requirements-desk.lock) and aryz itself
    requirements-desk.lock   the hash-pinned desk lock (pip checks every wheel against it)
    install.sh               installs into a new virtualenv without any network
    SHA256SUMS               SHA-256 of every file above; check it first

``--write-lock`` instead (re)writes ``requirements-desk.lock`` from ``requirements.lock``:
the desk's direct dependencies (``DESK_ROOTS``) and everything they need, as the
installed packages' metadata says, each with the hashes of the full lock.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
FULL_LOCK = ROOT / "requirements.lock"
DESK_LOCK = ROOT / "requirements-desk.lock"
# What the desk imports (service/desk and the `aryz` entry point): no SQLAlchemy, Alembic,
# psycopg, stem or httpx — the desk never talks to a database server, tor or the network.
# The desk extra of pyproject.toml (the one list of the desk's direct dependencies).
DESK_ROOTS = tuple(
    re.split(r"[<>=\[;\s]", requirement, maxsplit=1)[0]
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["desk"]
)
_NOT_SHIPPED = (
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis", "node_modules", "tests", "demo-data", "desk-bundle",
)  # fmt: skip
_BLOCK = re.compile(r"^([a-z0-9][a-z0-9._-]*)==", re.MULTILINE)

INSTALL_SH = """#!/bin/sh
# Install the Aryz desk from this folder, with no network at all.
#   sh install.sh [TARGET]        (default TARGET: ./aryz-desk next to this folder's parent)
# Needs python3 (3.11) with venv: Debian 12 and Tails 6 have both.
set -eu
# No pip configuration of this machine applies (an index or find-links there is ignored).
export PIP_CONFIG_FILE=/dev/null
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${1:-$HERE/../aryz-desk}
cd "$HERE"
# Every file of the kit must be what was written: a changed wheel or script stops here.
sha256sum --check --strict --quiet SHA256SUMS
python3 -m venv "$TARGET"
# --no-index: never ask a package index; --require-hashes: every wheel matches the lock.
"$TARGET/bin/pip" install --quiet --no-index --no-cache-dir --find-links "$HERE/wheels" \\
    --only-binary :all: --require-hashes -r "$HERE/requirements-desk.lock"
# aryz itself: its wheel is checked by SHA256SUMS above; its server-side dependencies
# (SQLAlchemy, psycopg, stem, ...) are deliberately not installed.
"$TARGET/bin/pip" install --quiet --no-index --no-cache-dir --no-deps "$HERE"/wheels/aryz-*.whl
"$TARGET/bin/aryz" desk passphrase >/dev/null
echo "Installed. Run: $TARGET/bin/aryz desk --help"
"""


def lock_blocks(text: str) -> dict[str, str]:
    """Each pinned package's block of a pip-compile lock (its line, hashes, comments)."""
    starts = [(m.start(), m.group(1)) for m in _BLOCK.finditer(text)]
    blocks = {}
    for n, (start, name) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(text)
        blocks[_norm(name)] = text[start:end].rstrip() + "\n"
    return blocks


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: tuple[str, ...]) -> set[str]:
    """The roots and everything they require (markers evaluated here, no extras)."""
    seen: set[str] = set()
    todo = [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            wanted = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in wanted:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(_norm(req.name))
    return seen


def write_lock() -> None:
    blocks = lock_blocks(FULL_LOCK.read_text())
    names = sorted(n for n in closure(DESK_ROOTS) if n in blocks)
    head = (
        "# The desk's dependencies only (deploy/desk/make_bundle.py --write-lock), taken with\n"
        "# their hashes from requirements.lock. Install: pip install --require-hashes -r THIS\n"
    )
    DESK_LOCK.write_text(head + "".join(blocks[n] for n in names))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def build(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty")
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # Wheels only, each checked against the lock's hashes as it is downloaded; for
    # CPython 3.11 on x86-64 Linux (Debian 12 and Tails 6 run Python 3.11).
    subprocess.run(  # noqa: S603 - fixed arguments
        [*pip, "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         "--python-version", "3.11", "--implementation", "cp", "--platform",
         "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
         "--platform", "manylinux_2_17_x86_64", "--require-hashes",
         "-r", str(DESK_LOCK), "-d", str(wheels)],
        check=True,
    )  # fmt: skip
    # aryz's own wheel, built from a clean copy: a stale build/ folder in the work tree
    # must not slip old files into the kit.
    with tempfile.TemporaryDirectory(prefix="aryz-desk-bundle-") as scratch:
        source = Path(scratch) / "aryz"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
        subprocess.run(  # noqa: S603 - fixed arguments
            [*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels),
             str(source)],
            check=True,
        )  # fmt: skip
    shutil.copyfile(DESK_LOCK, out / DESK_LOCK.name)
    (out / "install.sh").write_text(INSTALL_SH)
    (out / "install.sh").chmod(0o755)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    sums = "".join(f"{sha256(p)}  {p.relative_to(out)}\n" for p in files)
    (out / "SHA256SUMS").write_text(sums)
    print(f"Desk bundle written: {out} ({len(files)} files). Check: sha256sum -c SHA256SUMS")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--write-lock", action="store_true")
    args = parser.parse_args()
    if args.write_lock:
        write_lock()
    elif args.out is None:
        parser.error("give OUT_DIR")
    else:
        build(args.out)


if __name__ == "__main__":
    main()
