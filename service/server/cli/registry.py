"""``aryz registry …``: the operator's side of the coalitions' registry changes.

Commands (``--registry PATH``, default ``ARYZ_REGISTRY_PATH`` or the data dir's)::

    check                                 load the registry with its changes; print who
                                          is served, the signing fingerprints, couriers
    apply FILE                            check a change from a coalition's desk against
                                          the registry, then put it in registry-changes/
    accept-signing-key --coalition ID --key HEX --fingerprint "…"
                                          the desk was lost with its key: accept the new
                                          key the coalition read out (fingerprints shown)

A running ``aryz serve`` picks the change up within ``ARYZ_REGISTRY_POLL_SECONDS``
(10 s by default), or at once on SIGHUP; nothing needs a restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    registry = sub.add_parser("registry", help="the coalition registry and its signed changes")
    commands = registry.add_subparsers(dest="registry_command", required=True)

    p = commands.add_parser("check", help="load the registry and its changes, print a summary")
    _path(p)
    p.set_defaults(func=_cmd_check)

    p = commands.add_parser("apply", help="check a desk's registry change and put it in place")
    _path(p)
    p.add_argument("change", type=Path, help="the file the coalition's desk wrote")
    _statement_option(p)
    p.set_defaults(func=_cmd_apply)

    p = commands.add_parser(
        "accept-signing-key",
        help="accept a coalition's new signing key when its old one was lost with the desk",
    )
    _path(p)
    p.add_argument("--coalition", required=True)
    p.add_argument("--key", required=True, help="the new signing key, hex (from the desk)")
    p.add_argument(
        "--fingerprint",
        required=True,
        help="the new key's fingerprint as the coalition read it out to you, by phone or in person",
    )
    _statement_option(p)
    p.set_defaults(func=_cmd_accept)


def _statement_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--statement",
        type=Path,
        help="the desk's key-statement.toml signed with the new key (needed with a rotation): "
        "its line replaces the coalition's key_statement in the registry, in the same step",
    )


def _path(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", type=Path, help="the registry file (default: the server's)")


def _registry_path(args: argparse.Namespace) -> Path:
    if args.registry is not None:
        return Path(args.registry)
    from service.server.settings import Settings

    return Settings().resolved_registry_path


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_check(args: argparse.Namespace) -> int:
    from service.server.registry.logic import load_registry

    registry = load_registry(_registry_path(args), allow_demo=True)
    for c in registry.coalitions:
        role = ", ".join(c.countries) or "-"
        _say(f"{c.id}: countries {role}{' (fallback)' if c.fallback else ''}")
        _say(f"    signing key {c.signing_fingerprint}")
        _say(f"    last registry change under this key: {c.change_serial}")
        if c.signing_history:
            _say(f"    signing keys replaced: {len(c.signing_history)}")
        for courier in c.couriers:
            _say(f"    courier {courier.key_id.hex()}{' revoked' if courier.revoked else ''}")
    for code in registry.uncovered:
        receiver = registry.receiver(code)
        _say(f"{code}: no coalition of its own; goes to {receiver.id if receiver else '-'}")
    return 0


def _cmd_apply(args: argparse.Namespace) -> int:
    from service.common.contract.registry_change import (
        RegistryChangeError,
        SignedChange,
        parse,
    )
    from service.common.crypto.keys import fingerprint
    from service.common.errors import RegistryError

    path = _registry_path(args)
    try:
        text = args.change.read_text(encoding="utf-8")
        item = parse(text)
    except (UnicodeDecodeError, RegistryChangeError):
        raise RegistryError("That file is not a registry change.") from None
    if not isinstance(item, SignedChange):
        raise RegistryError("That file is an acceptance: use aryz registry accept-signing-key.")
    _install(path, args.change.name, text, item.coalition, args.statement)
    change = item.change
    _say(f"Registry change {change.serial} of coalition {change.coalition} is in place.")
    for k in change.couriers_revoked:
        _say(f"    courier revoked: {fingerprint(k)}")
    for k in change.couriers_added:
        _say(f"    courier added:   {fingerprint(k)}")
    if change.signing_key is not None:
        _say(f"    signing key replaced: {fingerprint(change.signer)}")
        _say(f"    by:                   {fingerprint(change.signing_key)}")
    _say("A running server applies it within seconds (or now: kill -HUP <its pid>).")
    return 0


def _cmd_accept(args: argparse.Namespace) -> int:
    from service.common.contract.registry_change import Acceptance, make_acceptance
    from service.common.crypto.keys import fingerprint
    from service.common.errors import RegistryError
    from service.server.registry.logic import load_registry

    path = _registry_path(args)
    entry = load_registry(path, allow_demo=True).get(args.coalition)
    if entry is None:
        raise RegistryError("The registry has no coalition with that id.")
    try:
        new_key = bytes.fromhex(args.key.strip())
        if len(new_key) != 32:
            raise ValueError
    except ValueError:
        raise RegistryError("The new signing key is 64 hex digits.") from None
    _say(f"Coalition {entry.id}")
    _say(f"    signing key now:   {entry.signing_fingerprint}")
    _say(f"    new signing key:   {fingerprint(new_key)}")
    if "".join(args.fingerprint.split()).upper() != "".join(fingerprint(new_key).split()):
        raise RegistryError(
            "The fingerprint you were read out does not match that key: nothing was changed. "
            "Check the key with the coalition again."
        )
    acceptance = Acceptance(entry.id, entry.signing_key, new_key, entry.change_serial)
    name = f"{entry.id}-accepted-{fingerprint(new_key).split()[0].lower()}.json"
    _install(path, name, make_acceptance(acceptance), entry.id, args.statement)
    _say("Accepted. The old key's registry changes after this point are refused.")
    _say("A running server applies it within seconds (or now: kill -HUP <its pid>).")
    return 0


def _install(
    registry_path: Path, name: str, text: str, coalition: str, statement: Path | None
) -> None:
    """Check the registry with the new file added (and the coalition's new key statement,
    if given), exactly as the server will read it; then write the file into the changes
    folder and, with a statement, the registry. Nothing is written if the check fails."""
    import service.common.files as files
    from service.common.contract.registry_change import RegistryChangeError, parse
    from service.common.errors import RegistryError
    from service.server.registry.changes import CHANGES_DIR, ChangeFile, changes_dir, read_changes
    from service.server.registry.logic import parse_registry

    folder = changes_dir(registry_path)
    target = folder / name
    if not name.endswith(".json") or "/" in name or name.startswith("."):
        raise RegistryError("A registry change's file name ends in .json.")
    if target.exists():
        raise RegistryError(f"{CHANGES_DIR}/{name} exists already; nothing was changed.")
    try:
        base = registry_path.read_text(encoding="utf-8")
        item = parse(text)
    except OSError:
        raise RegistryError("The registry file cannot be read.") from None
    except RegistryChangeError:
        raise RegistryError("That file is not a registry change.") from None
    updated = base if statement is None else with_statement(base, coalition, statement)
    parse_registry(updated, [*read_changes(folder), ChangeFile(name, item, text)])
    files.make_private_dir(folder)
    files.write_new(target, text.encode("utf-8"))
    if updated != base:
        files.replace(registry_path, updated.encode("utf-8"))


def with_statement(registry: str, coalition: str, statement: Path) -> str:
    """``registry`` with the coalition's ``key_statement`` line replaced by the one in the
    desk's ``key-statement.toml`` (or added after its ``signing_key`` line)."""
    import re

    from service.common.errors import RegistryError

    try:
        lines = statement.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise RegistryError("The key statement file cannot be read.") from None
    found = [line for line in lines if re.fullmatch(r"key_statement = '[^'\n]+'", line)]
    if len(found) != 1:
        raise RegistryError("That is not a key-statement.toml the desk wrote.")
    head, *blocks = registry.split("[[coalition]]\n")
    mine = [
        i for i, b in enumerate(blocks) if re.search(rf'^id = "{re.escape(coalition)}"$', b, re.M)
    ]
    if len(mine) != 1:
        raise RegistryError("The registry has no coalition with that id.")
    block = blocks[mine[0]]
    if re.search(r"^key_statement = .*$", block, re.M):
        block = re.sub(r"^key_statement = .*$", lambda _m: found[0], block, count=1, flags=re.M)
    else:
        block = re.sub(r"^(signing_key = .*)$", lambda m: m.group(1) + "\n" + found[0], block,
                       count=1, flags=re.M)  # fmt: skip
    blocks[mine[0]] = block
    return head + "".join("[[coalition]]\n" + b for b in blocks)
