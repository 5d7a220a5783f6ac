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


@pytest.mark.parametrize(
    "text",
    [
        # Security audit F-13: tor accepts any whitespace between keyword and value.
        "DisableNetwork 1\nHiddenServiceNonAnonymousMode\t1\nHiddenServiceSingleHopMode\t1\n",
        "DisableNetwork 1\nHiddenServiceSingleHopMode \t 1\n",
        "DisableNetwork 1\nHiddenServiceVersion\t2\n",
        "DisableNetwork 1\nHiddenServiceSingleHopMode 1 # a comment\n",
        "DisableNetwork 1\nHiddenServiceSingleHopMode#1\n",
    ],
)
def test_tabs_and_comments_are_read_as_tor_reads_them(text: str) -> None:
    with pytest.raises(TorUnsafeConfigError):
        check_torrc(parse(text), allow_public=True)


def test_a_tab_separated_bridge_is_refused_in_a_private_network() -> None:
    private = "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\nDirAuthority a 127.0.0.1:5000 ab\n"
    check_torrc(parse(private), allow_public=False)
    for extra in ("UseBridges\t1\n", "Bridge\t192.0.2.1:443\n", "SocksPort\t192.0.2.1:9050\n"):
        with pytest.raises(TorUnsafeConfigError):
            check_torrc(parse(private + extra), allow_public=False)


def test_tabs_parse_like_spaces_and_comments_end_values() -> None:
    assert parse("DisableNetwork\t1\r\nSocksPort  0   # off\n") == [
        ("DisableNetwork", "1"),
        ("SocksPort", "0"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "DisableNetwork 1\x0bHiddenServiceSingleHopMode 1\n",  # \v: one line to tor
        "DisableNetwork 1\x0cUseBridges 1\n",
        "Nickname a\x00b\n",
        "DisableNetwork 1\rUseBridges 1\n",
        "HiddenServiceSingleHopMode \\\n1\n",  # continued on the next line
    ],
)
def test_lines_tor_might_read_differently_are_refused(text: str) -> None:
    with pytest.raises(TorUnsafeConfigError):
        parse(text)
