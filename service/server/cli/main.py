"""``aryz``: serve, demo, database, and the intermediaries' client.

Output goes through ``_say`` (stdout) and ``_fail`` (stderr, exit 2); errors print their
fixed message, never a traceback with values in it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from service.common.errors import AryzError


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str) -> int:
    from service.common.text import for_terminal

    # A message may come from a server (aryz status, the courier): escaped (F-10).
    sys.stderr.write(f"aryz: {for_terminal(text)}\n")
    return 2


def _cmd_serve(args: argparse.Namespace) -> int:
    from service.server.cli.serve import run
    from service.server.settings import Settings

    run(
        Settings(),
        host=args.host,
        port=args.port,
        uds=args.uds,
        courier_port=args.courier_port,
        courier_uds=args.courier_uds,
        force_host=args.force_host,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from service.server.cli.demo import create_demo
    from service.server.cli.serve import run

    data_dir = Path(args.data_dir).resolve()
    settings = create_demo(data_dir)
    hosts = [f"127.0.0.1:{args.port}", f"localhost:{args.port}"]
    courier_hosts = [f"127.0.0.1:{args.courier_port}"] if args.courier_port else []
    settings = settings.model_copy(
        update={"allowed_hosts": hosts, "courier_allowed_hosts": courier_hosts}
    )
    _say(f"Aryz demo: data in {data_dir} (demo keys in {data_dir / 'desk-keys'})")
    _say(f"Open http://127.0.0.1:{args.port}/ in a browser (JavaScript may stay off).")
    _say(f"Read what was submitted: aryz demo-read --data-dir {data_dir}")
    if args.courier_port:
        _say(f"Courier API: http://127.0.0.1:{args.courier_port} ({data_dir / 'couriers'})")
    _say("Stop with Ctrl-C.")
    run(settings, host="127.0.0.1", port=args.port, courier_port=args.courier_port)
    return 0


def _cmd_demo_read(args: argparse.Namespace) -> int:
    from service.common.text import for_terminal
    from service.server.cli.demo_read import read_all

    refused = 0
    for line in read_all(Path(args.data_dir).resolve()):
        # What submitters sealed is untrusted text (F-10); read_all marks refusals.
        refused += line.startswith("item refused")
        _say(for_terminal(line, multiline=True))
    return 1 if refused else 0


def _cmd_db(args: argparse.Namespace) -> int:
    from service.server.settings import Settings
    from service.server.storage import migrate

    url = Settings().resolved_database_url
    if args.action == "upgrade":
        migrate.upgrade(url)
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision)
    _say(f"schema at {migrate.head_revision(url) if args.action == 'upgrade' else args.revision}")
    return 0


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
    with make_client(args.server, args.proxy) as client:
        token = submit(
            client,
            country=args.country,
            coalition_id=args.coalition,
            message=message,
            files=files,
            trust=_trust(args),  # type: ignore[arg-type]
        )
    _say("Write this token down and keep it hidden; it is the only key to the case:")
    _say(token)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from service.field.client import make_client, status

    with make_client(args.server, args.proxy) as client:
        result = status(client, args.token, trust=_trust(args))  # type: ignore[arg-type]
    from service.common.text import for_terminal

    # Everything here came from the server, which may be hostile (F-10): escaped. Only what
    # carries the coalition's signature, checked here against the pinned key and this
    # case's reply key, is the coalition's word (audit F-08); the rest is the server's.
    if result["status_verified"]:
        _say(f"status: {for_terminal(result['status'])} (signed by the coalition, verified)")
    else:
        _say(f"status: {for_terminal(result['status'])}")
        _say(
            "  !!! NOT VERIFIED: no valid coalition signature. This status is only the "
            "server's word (a new case reads 'received' until the coalition answers)."
        )
    if result.get("answer_by"):
        _say(f"answer expected by week {for_terminal(result['answer_by'])} (signed, verified)")
    urgent = result.get("urgent")
    if isinstance(urgent, dict) and result.get("urgent_verified"):
        _say(
            f"urgent: {for_terminal(urgent.get('status'))}, seen in week "
            f"{for_terminal(urgent.get('week'))} (signed by the duty officer, verified)"
        )
        if urgent.get("answer_by"):
            _say(f"  answer expected by week {for_terminal(urgent['answer_by'])}")
    elif isinstance(urgent, dict):
        _say("urgent: !!! NOT VERIFIED: the duty officer's acknowledgement does not check.")
    _say(f"items received: {for_terminal(result['items_received'])}")
    _say(f"replies: {len(result['replies'])}")
    for number, (text, verified) in enumerate(
        zip(result["replies"], result["replies_verified"], strict=True), start=1
    ):
        # Opened locally with the token's reply key; the server only ever had them sealed.
        shown = for_terminal(text, multiline=True) if text is not None else None
        if verified:
            _say(f"--- reply {number} (signed by the coalition, verified)")
            _say(shown if shown is not None else "(this reply could not be opened)")
            continue
        _say(f"--- reply {number}: !!! NOT VERIFIED !!!")
        _say(
            "  This reply carries no valid coalition signature: it may be forged by whoever "
            "controls the server. Do not go anywhere or do anything it asks."
        )
        if args.show_unverified and shown is not None:
            _say(shown)
        else:
            _say("  (its text is withheld; --show-unverified shows it)")
    return 0


def _cmd_state_secret(args: argparse.Namespace) -> int:
    import os

    from service.common.crypto.formstate import new_state_secret

    # O_EXCL: never replace a deployment's secret by accident (every page in flight
    # would be lost); replacing it is a deliberate rm first (deploy/README.md, section 5).
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, new_state_secret())
        os.fsync(fd)
    finally:
        os.close(fd)
    _say(f"State secret written to {args.out} (0600). Copy the same file to every instance.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aryz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the intake server (settings from ARYZ_*)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--uds", help="listen on this unix socket instead")
    p.add_argument(
        "--courier-port",
        type=int,
        help="also serve the courier API on this port (for the client-authorised staff onion)",
    )
    p.add_argument("--courier-uds", help="serve the courier API on this unix socket instead")
    p.add_argument(
        "--force-host",
        action="store_true",
        help="allow a non-loopback --host in production (only behind a firewall)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="create a demo instance with demo keys and serve it")
    p.add_argument("--data-dir", default="demo-data")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--courier-port", type=int, help="also serve the courier API here")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("demo-read", help="decrypt a demo instance's items with its demo keys")
    p.add_argument("--data-dir", default="demo-data")
    p.set_defaults(func=_cmd_demo_read)

    p = sub.add_parser("db", help="database schema migrations")
    p.add_argument("action", choices=["upgrade", "downgrade"])
    p.add_argument("--revision", default="base")
    p.set_defaults(func=_cmd_db)

    p = sub.add_parser(
        "state-secret", help="make the form-state secret every instance of a deployment shares"
    )
    p.add_argument("--out", required=True, help="e.g. /var/lib/aryz-state/state-secret")
    p.set_defaults(func=_cmd_state_secret)

    p = sub.add_parser("submit", help="file a case through the API (seals locally)")
    p.add_argument("--server", required=True)
    p.add_argument("--country", choices=["KZ", "KG", "TJ", "UZ", "TM"])
    p.add_argument("--coalition", help="a coalition id, e.g. the international fallback")
    p.add_argument("--message-file", required=True)
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    _add_trust_options(p)
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

    # Each domain owns its subcommands; their modules import nothing heavy at load time.
    from onion.cli import register as register_onion
    from service.desk.cli.main import register as register_desk
    from service.field.courier_cli import register as register_courier
    from service.field.duty_cli import register as register_duty
    from service.server.backup.cli import register as register_backup
    from service.server.cli.registry import register as register_registry

    register_desk(sub)
    register_courier(sub)
    register_duty(sub)
    register_onion(sub)
    register_backup(sub)
    register_registry(sub)
    return parser


def _is_unreachable(exc: Exception) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError)


def _os_error_message(exc: OSError) -> str:
    # The file name is the user's own argument; the OS's reason is safe to show.
    return f"{exc.strerror or 'input/output error'}" + (f": {exc.filename}" if exc.filename else "")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except AryzError as exc:
        return _fail(exc.message)
    except OSError as exc:
        # A file the user named cannot be read or written: say so, without a traceback.
        return _fail(_os_error_message(exc))
    except Exception as exc:
        if _is_unreachable(exc):
            # A dropped Tor circuit or an onion that cannot be reached: no traceback, and
            # nothing of the request in the message.
            return _fail("The server could not be reached (through Tor, if a proxy was given).")
        raise
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
