"""Onionbalance (v3): one public intake address in front of several ``aryz serve`` backends.

The front machine's tor publishes nothing of its own; ``onionbalance`` drives it through
the control socket: it fetches each backend's *instance* descriptor, and publishes a
descriptor for the public (master) address that lists the backends' introduction points.
Each backend's tor publishes its instance onion from a ``HiddenServiceDir`` with
``HiddenServiceOnionBalanceInstance 1`` and an ``ob_config`` file naming the master
address, so it accepts introductions made for the master address too.

What this module writes, so that the runbook (deploy/README.md, section 5), the tests and
an operator produce the same files:

* :func:`backend_torrc` — a backend's torrc from the template in
  ``deploy/tor/onionbalance/backend.torrc``, with its instance directory and app socket;
* :func:`write_ob_config` — the ``ob_config`` beside the instance key;
* :func:`write_balancer_config` — Onionbalance's ``config.yaml`` (master key + instances).

Onionbalance fits the introduction points of at most ``MAX_BACKENDS`` backends (two
each) in one descriptor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from onion.errors import OnionKeyError
from onion.keys import ensure_private_dir, load_key, write_private_file
from onion.torrc import Line

__all__ = [
    "MAX_BACKENDS",
    "OB_CONFIG",
    "backend_torrc",
    "write_balancer_config",
    "write_ob_config",
]

MAX_BACKENDS = 8
OB_CONFIG = "ob_config"
_PLACED = ("HiddenServiceDir", "HiddenServicePort")


def backend_torrc(template: Sequence[Line], instance_dir: Path, app_socket: Path) -> list[Line]:
    """The template's lines with this backend's instance directory and app socket.

    Every other line (proof of work, stream limits, ``HiddenServiceOnionBalanceInstance``)
    is kept as the template says; ``HiddenServiceDir`` must come before the service's own
    lines, as tor reads them in order.
    """
    lines: list[Line] = []
    for keyword, value in template:
        if keyword == "HiddenServiceDir":
            lines.append((keyword, str(instance_dir)))
        elif keyword == "HiddenServicePort":
            lines.append((keyword, f"80 unix:{app_socket}"))
        else:
            lines.append((keyword, value))
    if [k for k, _ in lines if k in _PLACED] != list(_PLACED):
        raise OnionKeyError("The backend torrc template needs one HiddenServiceDir and Port.")
    if ("HiddenServiceOnionBalanceInstance", "1") not in lines:
        raise OnionKeyError("The backend torrc template must be an Onionbalance instance.")
    return lines


def write_ob_config(instance_dir: Path, master_hostname: str) -> None:
    """Tell a backend's tor which public address it also answers for."""
    if not master_hostname.endswith(".onion") or len(master_hostname) != 62:
        raise OnionKeyError("The master address is a v3 .onion hostname.")
    ensure_private_dir(instance_dir)
    write_private_file(
        instance_dir / OB_CONFIG, f"MasterOnionAddress {master_hostname}\n".encode("ascii")
    )


def write_balancer_config(path: Path, master_dir: Path, instances: Sequence[str]) -> str:
    """Write Onionbalance's ``config.yaml``; return the public (master) hostname.

    ``master_dir`` holds the master key in tor's layout (``aryz onion keys``' intake
    directory). ``instances`` are the backends' instance hostnames.
    """
    if not 1 <= len(instances) <= MAX_BACKENDS:
        raise OnionKeyError(f"Onionbalance takes 1 to {MAX_BACKENDS} backends.")
    master = load_key(master_dir)  # refuses a missing or inconsistent key
    entries = []
    for number, hostname in enumerate(instances, start=1):
        if not hostname.endswith(".onion") or len(hostname) != 62:
            raise OnionKeyError("A backend's instance address is a v3 .onion hostname.")
        # JSON strings are valid YAML scalars: no quoting rules of our own.
        entries.append(
            f"      - address: {json.dumps(hostname)}\n        name: {json.dumps(f'aryz-{number}')}"
        )
    key_path = json.dumps(str(master_dir / "hs_ed25519_secret_key"))
    text = "services:\n  - key: " + key_path + "\n    instances:\n" + "\n".join(entries) + "\n"
    write_private_file(path, text.encode("utf-8"))
    return master.hostname
