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
    "service.desk.cli",
    "service.desk.logic",
    "service.desk.store",
    "service.desk.keys",
    "service.desk.importer",
    "service.desk.export",
    "service.desk.strip",
    "service.desk.passphrase",
    "service.desk.outcomes",
    "service.desk.facts",
    "service.desk.suppress",
    "service.desk.stats",
    "service.desk.casework",
    "service.desk.report",
    "service.desk.charts",
    "service.desk.stats_cli",
    "service.crypto.wrap",
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
    "service.settings",
    "service.app",
    "service.deps",
    "service.intake",
    "service.api",
    "service.courier",
    "service.client",
    "service.cases",
    "service.models",
    "service.registry",
    "service.storage.db",
    "service.storage.items",
    "service.storage.migrate",
    "service.web.security",
    "service.web.multipart",
    "service.web.render",
    "sqlalchemy",
    "alembic",
    "psycopg",
    # Tor belongs to the online machines only
    "stem",
    "onion",
]

# The shared ``aryz`` parser registers every domain's subcommands; the courier's module
# only defines them (its work is imported inside the commands), which is allowed.
ALLOWED = {"service.courier", "service.courier.cli"}

SCRIPT = """
import json, sys
for name in {modules!r}:
    __import__(name)
from service.cli.main import build_parser
build_parser().parse_args(["desk", "list", "--dir", "x"])
# What rendering answers pulls in (the questionnaire, lazily) counts too.
import service.questionnaire.basic
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
