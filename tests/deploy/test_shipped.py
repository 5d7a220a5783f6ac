"""Nothing in deploy/ may turn on a single-hop (non-anonymous) onion, a v2 onion or a
client SOCKS port (security brief item 10), not even in a comment an operator might
uncomment; and every operator-facing file exists where the runbook says."""

from __future__ import annotations

import re

from tests.deploy.units import DEPLOY

FORBIDDEN = [
    re.compile(r"HiddenServiceSingleHopMode", re.I),
    re.compile(r"HiddenServiceNonAnonymousMode", re.I),
    re.compile(r"HiddenServiceVersion\s+2\b", re.I),
    re.compile(r"SocksPort\s+(?!0\s*$)\S+", re.I | re.M),
    re.compile(r"^\s*#*\s*ControlPort\s+\d", re.I | re.M),
]


def test_no_single_hop_v2_or_socks_anywhere_in_deploy() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        for pattern in FORBIDDEN:
            assert not pattern.search(text), f"{path.relative_to(DEPLOY)}: {pattern.pattern}"


def test_runbook_names_only_files_that_exist() -> None:
    runbook = (DEPLOY / "README.md").read_text()
    # Paths as the runbook writes them ("deploy/tor/torrc"), not globs or test paths.
    named = {
        name.rstrip(".")
        for name in re.findall(r"(?<![\w/])deploy/([^\s`)]+)", runbook)
        if "*" not in name
    }
    assert len(named) > 10
    missing = [name for name in named if not (DEPLOY / name).exists()]
    assert missing == []
