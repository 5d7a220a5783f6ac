"""``aryz-field`` (and ``aryz submit``, ``aryz status``, ``aryz courier …``, ``aryz duty …``):
the tools of the courier's, an intermediary's or the duty officer's online laptop.
Everything a server sends is untrusted and printed escaped
(``service.common.text.for_terminal``, audit F-10)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from service.common.cli import fail, run, say
from service.common.contract.vocabulary import COUNTRY_CODES, INITIAL_STATUS
from service.common.text import for_terminal


def _fail(text: str) -> int:
    return fail("aryz", text)


def _trust(args: argparse.Namespace) -> object:
    """The fingerprints this person trusts (service/field/trust.py), from the options."""
    from service.field.trust import Trust, default_trust_file

    def confirm(coalition: str, fingerprint: str) -> bool:
        sys.stderr.write(
            f"Coalition {coalition} is not pinned on this computer.\n"
            f"Its signing-key fingerprint, as this server gives it:\n    {fingerprint}\n"
            "Compare it with the one the coalition gave you by another channel.\n"
        )
        if args.trust_on_first_use:
            sys.stderr.write("Trusted on first use (--trust-on-first-use) and remembered.\n")
            return True
        if not sys.stdin.isatty():
            return False
        sys.stderr.write("Trust it and remember it? Type 'yes' to trust: ")
        sys.stderr.flush()
        return sys.stdin.readline().strip().lower() == "yes"

    store = Path(args.trust_file) if args.trust_file else default_trust_file()
    return Trust(given=tuple(args.trust), store=store, confirm=confirm)


def _add_trust_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help="the coalition's signing-key fingerprint, as the coalition gave it to you",
    )
    p.add_argument("--trust-file", help="where first-use trust is remembered")
    p.add_argument(
        "--trust-on-first-use",
        action="store_true",
        help="trust an unpinned coalition's fingerprint without asking (it is shown)",
    )


def _cmd_submit(args: argparse.Namespace) -> int:
    from service.field.client import make_client, submit

    if not args.country and not args.coalition:
        return _fail("give --country CODE or --coalition ID")
    try:
        message = Path(args.message_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return _fail("the message file cannot be read as UTF-8 text")
    files = [Path(f) for f in args.file]
    for f in files:
        if not f.is_file():
            return _fail("a --file is not a readable file")
    urgent = {
        name: value
        for name in ("region", "place_type", "place", "since", "needs", "contact")
        if (value := getattr(args, f"urgent_{name}"))
    }
    if urgent and not args.urgent:
        # As on the write page: urgent answers are never dropped silently.
        return _fail(
            "urgent answers were given without --urgent (the person's consent that they "
            "can be read on a connected computer by the duty officer); nothing was sent"
        )
    with make_client(args.server, args.proxy) as client:
        token = submit(
            client,
            country=args.country,
            coalition_id=args.coalition,
            message=message,
            files=files,
            trust=_trust(args),  # type: ignore[arg-type]
            urgent=urgent if args.urgent else None,
        )
    say("Write this token down and keep it hidden; it is the only key to the case:")
    say(token)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from service.field.client import make_client, status

    with make_client(args.server, args.proxy) as client:
        result = status(client, args.token, trust=_trust(args))  # type: ignore[arg-type]
    # Everything here came from the server, which may be hostile (F-10): escaped. Only what
    # carries the coalition's signature, checked here against the pinned key and this
    # case's reply key, is the coalition's word (audit F-08); the rest is the server's.
    transfer = result.get("transfer")
    if isinstance(transfer, dict):
        by = for_terminal(transfer["source"])
        if transfer["verified"]:
            say(
                f"passed to: {for_terminal(transfer['to'])} (by {by}: signed, verified). "
                "Your token stays the same; answers now come from them."
            )
        else:
            say(
                f"passed to: {for_terminal(transfer['to'])} (by {by}) !!! NOT VERIFIED: "
                "no valid signature of the coalition that passed it on."
            )
    if result["status_verified"]:
        say(f"status: {for_terminal(result['status'])} (signed by the coalition, verified)")
    else:
        say(f"status: {for_terminal(result['status'])}")
        say(
            "  !!! NOT VERIFIED: no valid coalition signature. This status is only the "
            f"server's word (a new case reads '{INITIAL_STATUS}' until the coalition answers)."
        )
    if result.get("answer_by"):
        say(f"answer expected by week {for_terminal(result['answer_by'])} (signed, verified)")
    urgent = result.get("urgent")
    if isinstance(urgent, dict) and result.get("urgent_verified"):
        say(
            f"urgent: {for_terminal(urgent.get('status'))}, seen in week "
            f"{for_terminal(urgent.get('week'))} (signed by the duty officer, verified)"
        )
        if urgent.get("answer_by"):
            say(f"  answer expected by week {for_terminal(urgent['answer_by'])}")
    elif isinstance(urgent, dict):
        say("urgent: !!! NOT VERIFIED: the duty officer's acknowledgement does not check.")
    say(f"items received: {for_terminal(result['items_received'])}")
    say(f"replies: {len(result['replies'])}")
    for number, (text, verified) in enumerate(
        zip(result["replies"], result["replies_verified"], strict=True), start=1
    ):
        # Opened locally with the token's reply key; the server only ever had them sealed.
        shown = for_terminal(text, multiline=True) if text is not None else None
        if verified:
            say(f"--- reply {number} (signed by the coalition, verified)")
            say(shown if shown is not None else "(this reply could not be opened)")
            continue
        say(f"--- reply {number}: !!! NOT VERIFIED !!!")
        say(
            "  This reply carries no valid coalition signature: it may be forged by whoever "
            "controls the server. Do not go anywhere or do anything it asks."
        )
        if args.show_unverified and shown is not None:
            say(shown)
        else:
            say("  (its text is withheld; --show-unverified shows it)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``submit``, ``status`` and ``courier …`` to a parser's subcommands."""
    p = sub.add_parser("submit", help="file a case through the API (seals locally)")
    p.add_argument("--server", required=True)
    p.add_argument("--country", choices=COUNTRY_CODES)
    p.add_argument("--coalition", help="a coalition id, e.g. the international fallback")
    p.add_argument("--message-file", required=True)
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    _add_trust_options(p)
    p.add_argument(
        "--urgent",
        action="store_true",
        help="the urgent lane, with the person's consent: the --urgent-* answers go at once "
        "to the duty officer and can be read on a connected computer of the coalition",
    )
    p.add_argument("--urgent-region", help="ISO 3166-2 code, e.g. KZ-75")
    p.add_argument(
        "--urgent-place-type",
        help="police, ivs, sizo, prison, military, psychiatric, unofficial or other",
    )
    p.add_argument("--urgent-place", help="name or address of the place of detention")
    p.add_argument("--urgent-since", help="since when the person is held")
    p.add_argument(
        "--urgent-need",
        dest="urgent_needs",
        action="append",
        choices=["lawyer", "doctor", "family"],
    )
    p.add_argument("--urgent-contact", help="how the duty officer can reach the person, if agreed")
    p.set_defaults(func=_cmd_submit)

    p = sub.add_parser("status", help="check a case through the API (derives locally)")
    p.add_argument("--server", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--proxy")
    _add_trust_options(p)
    p.add_argument(
        "--show-unverified", action="store_true", help="also print replies that are not signed"
    )
    p.set_defaults(func=_cmd_status)

    from service.field.courier_cli import register as register_courier
    from service.field.duty_cli import register as register_duty

    register_courier(sub)
    register_duty(sub)


def is_unreachable(exc: Exception) -> bool:
    """A dropped Tor circuit or an onion that cannot be reached (httpx's transport errors;
    a machine without httpx has no such error)."""
    try:
        import httpx
    except ImportError:  # pragma: no cover - the desk's install has no HTTP client
        return False
    return isinstance(exc, httpx.TransportError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aryz-field", description=__doc__.splitlines()[0])
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv, unreachable=is_unreachable)


if __name__ == "__main__":
    sys.exit(main())
