"""torrc text that Aryz writes or accepts, and the check that keeps tor off networks it must
not reach.

``check_torrc`` is the gate every tor we launch passes first:

* always refused: single-hop / non-anonymous onion services, onion versions other than 3,
  ``%include`` (its contents would escape the check);
* unless public networking is allowed (a production ``aryz serve`` on a real host), the
  torrc must either say ``DisableNetwork 1`` or describe a private test network:
  ``TestingTorNetwork 1``, ``UseDefaultFallbackDirs 0``, at least one ``DirAuthority`` and
  every one of them on 127.0.0.1, no ``FallbackDir`` or bridges, and every listener
  address on loopback. That is the rule for these machines: a tor must never learn a
  public address (see ``shared/tor-lab.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from onion.errors import TorUnsafeConfigError

Line = tuple[str, str]
_LOOPBACK_DIRAUTH = re.compile(r"(?:^|\s)127\.0\.0\.1:\d+(?:\s|$)")
_LISTENERS = (
    "ORPort",
    "DirPort",
    "SocksPort",
    "ControlPort",
    "HTTPTunnelPort",
    "TransPort",
    "DNSPort",
    "NATDPort",
    "ExtORPort",
    "MetricsPort",
)
_FORBIDDEN_PRIVATE = ("FallbackDir", "Bridge", "AlternateDirAuthority", "AlternateBridgeAuthority")


# What tor's own parser (confline.c) treats as the end of a keyword. Anything else that is
# a control character has no business in a torrc, and Python and tor would split it
# differently (Python's splitlines breaks at \v, \f, \x1c..., tor only at \n).
_KEYWORD_END = " \t#"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse(text: str) -> list[Line]:
    """(keyword, value) pairs in order, comments and blank lines dropped, read as tor reads
    them: a keyword ends at a space, a tab or ``#``; the value follows after spaces and
    tabs and ends at an unquoted ``#``.

    Refused (``TorUnsafeConfigError``), because tor and this gate could read them
    differently: control characters other than tab (a CR only at a line's end) and
    lines continued with a backslash.
    """
    lines: list[Line] = []
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if _CONTROL.search(line):
            raise TorUnsafeConfigError("A torrc line holds a control character.")
        line = line.strip(" \t")
        if line.endswith("\\"):
            raise TorUnsafeConfigError("torrc lines continued with a backslash are not accepted.")
        if not line or line.startswith("#"):
            continue
        end = next((i for i, char in enumerate(line) if char in _KEYWORD_END), len(line))
        keyword, value = line[:end], line[end:].lstrip(" \t")
        if not value.startswith('"'):
            value = value.split("#", 1)[0]
        lines.append((keyword, value.rstrip(" \t")))
    return lines


def render(lines: Iterable[Line]) -> str:
    out = []
    for keyword, value in lines:
        if "\n" in keyword or "\n" in value or "\r" in value:
            raise TorUnsafeConfigError("A torrc value may not contain a line break.")
        out.append(f"{keyword} {value}".rstrip())
    return "\n".join(out) + "\n"


def _values(lines: Sequence[Line], keyword: str) -> list[str]:
    return [v for k, v in lines if k.lower() == keyword.lower()]


def _last(lines: Sequence[Line], keyword: str) -> str | None:
    values = _values(lines, keyword)
    return values[-1] if values else None


def check_torrc(lines: Sequence[Line], *, allow_public: bool) -> None:
    """Raise ``TorUnsafeConfigError`` unless the configuration is safe to start."""
    for keyword, value in lines:
        if keyword.startswith("%"):
            raise TorUnsafeConfigError("torrc directives such as %include are not accepted.")
        if keyword.lower() in ("hiddenservicesinglehopmode", "hiddenservicenonanonymousmode") and (
            value != "0"
        ):
            # A single-hop service reveals the server's address to its introduction points.
            raise TorUnsafeConfigError("Single-hop onion services are refused.")
        if keyword.lower() == "hiddenserviceversion" and value != "3":
            raise TorUnsafeConfigError("Only v3 onion services are accepted.")
    if allow_public or _last(lines, "DisableNetwork") == "1":
        return
    _check_private_network(lines)


def _check_private_network(lines: Sequence[Line]) -> None:
    if _last(lines, "TestingTorNetwork") != "1" or _last(lines, "UseDefaultFallbackDirs") != "0":
        raise TorUnsafeConfigError(
            "Refused: without DisableNetwork 1 a torrc must describe a private test network "
            "(TestingTorNetwork 1, UseDefaultFallbackDirs 0)."
        )
    authorities = _values(lines, "DirAuthority")
    if not authorities or not all(_LOOPBACK_DIRAUTH.search(a) for a in authorities):
        raise TorUnsafeConfigError("Refused: every DirAuthority must be on 127.0.0.1.")
    for keyword in _FORBIDDEN_PRIVATE:
        if _values(lines, keyword):
            raise TorUnsafeConfigError(f"Refused: {keyword} has no place in a private network.")
    if _last(lines, "UseBridges") not in (None, "0"):
        raise TorUnsafeConfigError("Refused: bridges have no place in a private network.")
    address = _last(lines, "Address")
    if address is not None and address != "127.0.0.1":
        raise TorUnsafeConfigError("Refused: a private network node's Address is 127.0.0.1.")
    for keyword in _LISTENERS:
        for value in _values(lines, keyword):
            target = value.split()[0] if value else ""
            if not _loopback_listener(target):
                raise TorUnsafeConfigError(f"Refused: {keyword} must listen on 127.0.0.1.")


def _loopback_listener(target: str) -> bool:
    # "0" disables a port; unix sockets never leave the machine; a bare port number binds
    # to the loopback for client ports but to every address for ORPort/DirPort: refuse it.
    return target == "0" or target.startswith("unix:") or target.startswith("127.0.0.1:")
