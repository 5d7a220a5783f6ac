"""The desk's web app runs on the offline laptop without the server's configuration,
database or apps. It may use the web stack (FastAPI, Jinja) and the web layer's security
middleware, nothing of the server besides.

A fresh interpreter builds the app over a desk, renders a page, and lists what got
loaded. (``tests/desk/test_desk_imports.py`` checks that the desk's own modules, and the
``aryz`` parser that now registers ``desk web``, load no web stack at all.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.desk.helpers import COALITION, PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]

WEB_MODULES = [
    "service.desk.web",
    "service.desk.web.cli",
    "service.desk.web.app",
    "service.desk.web.routes",
    "service.desk.web.logic",
    "service.desk.web.render",
    "service.desk.web.errors",
    "service.desk.web.deps",
    "service.desk.web.report",
    "service.desk.web.stats_routes",
]

FORBIDDEN = [
    # the server's configuration, database and applications
    "pydantic_settings",
    "service.server.settings",
    "service.server.app",
    "service.server.deps",
    "service.server.intake",
    "service.server.api",
    "service.server.courier",
    "service.field.client",
    "service.server.cli.serve",
    "service.server.cli.demo",
    "service.server.cases.logic",
    "service.common.contract.replies",
    "service.server.models",
    "service.server.registry.logic",
    "service.server.registry.schemas",
    "service.server.storage.db",
    "service.server.storage.items",
    "service.server.storage.migrate",
    "service.server.web.multipart",
    "sqlalchemy",
    "alembic",
    "psycopg",
    # Tor belongs to the online machines only
    "stem",
    "onion",
]
# The desk's own entry point (aryz-desk) builds its parser: nothing else is allowed.
ALLOWED: set[str] = set()

SCRIPT = """
import json, os, sys
from pathlib import Path
os.environ["ARYZ_DESK_KDF"] = "minimum"
for name in {modules!r}:
    __import__(name)
from fastapi.testclient import TestClient
from service.desk.cli.main import build_parser
from service.desk.casework.desk import init_desk, open_desk
from service.desk.web.app import create_desk_app
build_parser().parse_args(["web", "--dir", "x"])
folder = Path({folder!r})
init_desk(folder, {coalition!r}, {passphrase!r})
with open_desk(folder, {passphrase!r}) as desk:
    app = create_desk_app(desk)
    client = TestClient(app, base_url="http://127.0.0.1:8765")
    assert client.get(app.state.gate.login_path).status_code == 200
    assert client.get("/ru/").status_code == 200
    assert client.get("/en/export").status_code == 200
    assert client.get("/en/stats").status_code == 200
print(json.dumps(sorted(sys.modules)))
"""


def test_desk_web_does_not_import_the_server(tmp_path: Path) -> None:
    script = SCRIPT.format(
        modules=WEB_MODULES,
        folder=str(tmp_path / "desk"),
        coalition=COALITION,
        passphrase=PASSPHRASE,
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert set(WEB_MODULES) <= loaded  # the script really imported them
    bad = sorted(
        name
        for name in loaded - ALLOWED
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )
    assert bad == []
