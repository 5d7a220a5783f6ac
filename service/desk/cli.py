"""``aryz desk …`` subcommands (filled in by the desk work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the desk subcommands to the ``aryz`` parser."""
