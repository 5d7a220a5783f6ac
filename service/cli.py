"""``aryz``: one name for every machine's commands, for an operator who has them all.

Each room owns its subcommands and registers them here: the server's (``serve``, ``demo``,
``demo-read``, ``db``, ``onion``, ``backup``: ``service/server/cli/main.py``), the field
tools' (``submit``, ``status``, ``courier``: ``service/field/cli.py``) and the desk's
(``desk …``: ``service/desk/cli/main.py``). A machine that has only one room installed
uses its own entry point instead: ``aryz-desk`` on the air-gapped desk, ``aryz-field`` on
the courier's or an intermediary's laptop. This dispatcher is the one module that may
import every room (tests/test_import_rules.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from service.common.cli import run


def build_parser() -> argparse.ArgumentParser:
    from service.desk.cli.main import register as register_desk
    from service.field.cli import register as register_field
    from service.server.cli.main import register as register_server

    parser = argparse.ArgumentParser(prog="aryz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    register_server(sub)
    register_field(sub)
    register_desk(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from service.field.cli import is_unreachable

    return run(build_parser(), argv, unreachable=is_unreachable)


if __name__ == "__main__":
    sys.exit(main())
