"""The gate in front of every tor Aryz starts: no public network outside production,
never single-hop, never v2, nothing the check cannot see."""

from __future__ import annotations

import pytest

from onion.errors import TorUnsafeConfigError
from onion.torrc import Line, check_torrc, parse, render

PRIVATE: list[Line] = [
    ("TestingTorNetwork", "1"),
    ("UseDefaultFallbackDirs", "0"),
    ("DirAuthority", "auth0 orport=5000 no-v2 v3ident=AB 127.0.0.1:7000 0011223344"),
    ("DirAuthority", "auth1 orport=5001 no-v2 v3ident=CD 127.0.0.1:7001 5566778899"),
    ("Address", "127.0.0.1"),
    ("ORPort", "127.0.0.1:5002"),
    ("SocksPort", "127.0.0.1:9050"),
]


def test_default_public_config_is_refused_outside_production() -> None:
    with pytest.raises(TorUnsafeConfigError, match="DisableNetwork"):
        check_torrc([("SocksPort", "0")], allow_public=False)
    check_torrc([("SocksPort", "0")], allow_public=True)


def test_disabled_network_and_private_network_pass() -> None:
    check_torrc([("DisableNetwork", "1")], allow_public=False)
    check_torrc(PRIVATE, allow_public=False)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (("DirAuthority", "moria1 orport=9101 128.31.0.39:9131 9695"), "127.0.0.1"),
        (("FallbackDir", "127.0.0.1:9030 orport=9001 id=AA"), "FallbackDir"),
        (("Bridge", "127.0.0.1:1"), "Bridge"),
        (("UseBridges", "1"), "bridges"),
        (("ORPort", "9001"), "ORPort"),
        (("DirPort", "0.0.0.0:9030"), "DirPort"),
        (("Address", "203.0.113.5"), "Address"),
        (("UseDefaultFallbackDirs", "1"), "private test network"),
    ],
)
def test_private_network_may_not_reach_out(change: Line, match: str) -> None:
    with pytest.raises(TorUnsafeConfigError, match=match):
        check_torrc([*PRIVATE, change], allow_public=False)


@pytest.mark.parametrize(
    "line",
    [
        ("HiddenServiceSingleHopMode", "1"),
        ("HiddenServiceNonAnonymousMode", "1"),
        ("HiddenServiceVersion", "2"),
        ("%include", "/etc/tor/torrc.d"),
    ],
)
def test_always_refused_even_in_production(line: Line) -> None:
    with pytest.raises(TorUnsafeConfigError):
        check_torrc([("DisableNetwork", "1"), line], allow_public=True)


def test_later_lines_win_as_in_tor() -> None:
    with pytest.raises(TorUnsafeConfigError):
        check_torrc([("DisableNetwork", "1"), ("DisableNetwork", "0")], allow_public=False)


def test_parse_render_round_trip_and_no_line_breaks() -> None:
    text = "# comment\nDisableNetwork 1\n\nSocksPort 0\n"
    assert parse(text) == [("DisableNetwork", "1"), ("SocksPort", "0")]
    assert parse(render(parse(text))) == parse(text)
    with pytest.raises(TorUnsafeConfigError):
        render([("Nickname", "a\nDisableNetwork 0")])
