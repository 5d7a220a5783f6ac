"""The desk runs on an offline laptop without the server's web stack or its settings.

A fresh interpreter imports every desk module (and runs a desk command's parser) and
lists what got loaded; none of the server-side modules below may be among them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DESK_MODULES = [
    "service.desk",
    "service.desk.cli.main",
    "service.desk.casework.desk",
    "service.desk.store.database",
    "service.desk.store.keys",
    "service.desk.inbox.importer",
    "service.desk.casework.export",
    "service.desk.inbox.strip",
    "service.common.passphrase",
    "service.desk.stats.outcomes",
    "service.desk.stats.facts",
    "service.desk.stats.suppress",
    "service.desk.stats.tables",
    "service.desk.stats.casework",
    "service.desk.stats.report",
    "service.desk.stats.charts",
    "service.desk.cli.stats",
    "service.common.crypto.wrap",
]

FORBIDDEN = [
    # the web stack
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "python_multipart",
    "multipart",
    "httpx",
    "pydantic",
    # the server's configuration, database and application
    "pydantic_settings",
    "service.server.settings",
    "service.server.app",
    "service.server.deps",
    "service.server.intake",
    "service.server.api",
    "service.server.courier",
    "service.field.client",
    "service.server.cases",
    "service.server.models",
    "service.server.registry",
    "service.server.storage.db",
    "service.server.storage.items",
    "service.server.storage.migrate",
    "service.common.webkit.security",
    "service.server.web.multipart",
    "service.server.web.render",
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
import json, sys
for name in {modules!r}:
    __import__(name)
from service.desk.cli.main import build_parser
build_parser().parse_args(["list", "--dir", "x"])
# What rendering answers pulls in (the questionnaire, lazily) counts too.
import service.common.questionnaire.basic
print(json.dumps(sorted(sys.modules)))
"""


def test_desk_modules_do_not_import_the_server() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(modules=DESK_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(result.stdout))
    assert set(DESK_MODULES) <= loaded  # the script really imported them
    bad = sorted(
        name
        for name in loaded - ALLOWED
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )
    assert bad == []
