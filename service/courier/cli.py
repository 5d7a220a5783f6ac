"""``aryz courier …`` subcommands (filled in by the courier work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the courier subcommands to the ``aryz`` parser."""
