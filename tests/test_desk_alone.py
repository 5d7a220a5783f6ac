"""The air-gapped desk installs and runs with only its own dependencies.

A fresh virtualenv gets ``requirements-desk.lock`` (hash-pinned) and this package with
``--no-deps``: no SQLAlchemy, Alembic, psycopg, stem or httpx. There the desk's commands
run end to end — ``init``, ``import`` of a bundle, ``list``, ``show`` and ``web`` (started,
one page fetched through its login link, stopped) — and importing the server fails.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from service.desk.store.keys import read_public
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    sealed,
)

ROOT = Path(__file__).resolve().parent.parent


SERVER_ONLY = {"sqlalchemy", "alembic", "psycopg", "psycopg-binary", "stem", "httpx"}
DESK_LOCK = ROOT / "requirements-desk.lock"


def _locked(path: Path) -> dict[str, str]:
    """Each package of a lock: its ``name==version`` line and hash lines."""
    blocks: dict[str, str] = {}
    name = ""
    for line in path.read_text().splitlines():
        if re.match(r"^[a-z0-9]", line):
            name = line.split("==")[0]
            blocks[name] = line + "\n"
        elif line.startswith("    --hash") and name:
            blocks[name] += line + "\n"
    return blocks


def test_the_desk_lock_holds_the_desk_extra_and_no_server_package() -> None:
    desk = _locked(DESK_LOCK)
    assert set(desk) & SERVER_ONLY == set()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["desk"]
    assert {re.split(r"[<>=\[]", r)[0].lower() for r in extra} <= set(desk)
    full = _locked(ROOT / "requirements.lock")  # the same versions and hashes
    assert all(desk[name] == full[name] for name in desk)


def _run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - our own virtualenv's programs
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_desk_runs_with_only_its_dependencies(tmp_path: Path) -> None:
    # The package from a copy of the tree, so building it leaves nothing in the checkout.
    source = tmp_path / "src"
    for name in ("service", "onion", "migrations"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements-desk.lock", "requirements.lock"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--require-hashes", "-r", str(source / "requirements-desk.lock")], env)
    # The build backend, hash-pinned from the full lock, to build the package offline.
    backend = tmp_path / "build.lock"
    backend.write_text(_locked(source / "requirements.lock")["setuptools"])
    _run([*pip, "--require-hashes", "-r", str(backend)], env)
    _run([*pip, "--no-deps", "--no-build-isolation", str(source)], env)

    installed = _run([str(python), "-m", "pip", "list", "--format=freeze"], env).lower()
    for package in ("sqlalchemy", "alembic", "psycopg", "stem", "httpx"):
        assert f"\n{package}==" not in f"\n{installed}"
    # The server cannot even be imported there.
    refused = subprocess.run(  # noqa: S603
        [str(python), "-c", "import service.server.app"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert refused.returncode != 0
    assert "ModuleNotFoundError" in refused.stderr

    env |= {"ARYZ_DESK_KDF": "minimum", "ARYZ_DESK_PASSPHRASE": PASSPHRASE}
    desk = str(bin_dir / "aryz-desk")
    folder = tmp_path / "desk"
    _run([desk, "init", "--dir", str(folder), "--coalition", COALITION], env, cwd=tmp_path)

    case = FakeCase()
    recipients = [read_public(folder).epochs[-1][1]]
    item = sealed(case, answers_plaintext(case, {"narrative": "Избили в СИЗО."}), recipients)
    bundle = tmp_path / "bundle.aryz"
    bundle.write_bytes(bundle_bytes([item]))
    _run([desk, "import", "--dir", str(folder), str(bundle)], env, cwd=tmp_path)
    listed = _run([desk, "list", "--dir", str(folder)], env, cwd=tmp_path)
    assert case.ref[:8] in listed
    shown = _run([desk, "show", "--dir", str(folder), case.ref[:12]], env, cwd=tmp_path)
    assert "Избили в СИЗО." in shown

    port = _free_port()
    web = subprocess.Popen(  # noqa: S603
        [desk, "web", "--dir", str(folder), "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert web.stdout is not None
        link = None
        for line in web.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+/\S+", line)
            if found:
                link = found.group(0)
                break
        assert link is not None, web.stderr.read() if web.stderr else ""
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = _fetch_when_up(opener, link)
        assert case.ref[:8] in page
    finally:
        web.terminate()
        web.wait(timeout=30)


def _fetch_when_up(opener: urllib.request.OpenerDirector, link: str) -> str:
    # The link is printed just before the server starts listening: try a few times.
    last: Exception | None = None
    for _ in range(100):
        try:
            with opener.open(link, timeout=10) as response:  # noqa: S310 - loopback only
                return str(response.read().decode("utf-8"))
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"the desk's web app did not answer: {last}")
