"""What every command-line entry point shares (``aryz``, ``aryz-desk``, ``aryz-field``):
plain output, a failure said in one escaped line, and one way to run a parsed command so
that an error prints its fixed message and never a traceback with values in it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from service.common.errors import AryzError
from service.common.text import for_terminal

UNREACHABLE = "The server could not be reached (through Tor, if a proxy was given)."


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(prog: str, text: str) -> int:
    # A message may come from a server (aryz status, the courier): escaped (F-10).
    sys.stderr.write(f"{prog}: {for_terminal(text)}\n")
    return 2


def os_error_message(exc: OSError) -> str:
    # The file name is the user's own argument; the OS's reason is safe to show.
    return f"{exc.strerror or 'input/output error'}" + (f": {exc.filename}" if exc.filename else "")


def run(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    unreachable: Callable[[Exception], bool] = lambda _exc: False,
) -> int:
    """Parse ``argv``, run the chosen command (``func``), and turn failures into exit codes:
    2 with the fixed message of an :class:`AryzError` or the OS's reason for a file, 130
    for Ctrl-C. ``unreachable`` recognises a dropped Tor circuit (the field tools')."""
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except AryzError as exc:
        return fail(parser.prog, exc.message)
    except OSError as exc:
        # A file the user named cannot be read or written: say so, without a traceback.
        return fail(parser.prog, os_error_message(exc))
    except Exception as exc:
        if unreachable(exc):
            # A dropped Tor circuit or an onion that cannot be reached: no traceback, and
            # nothing of the request in the message.
            return fail(parser.prog, UNREACHABLE)
        raise
    except KeyboardInterrupt:
        return 130
    return code
