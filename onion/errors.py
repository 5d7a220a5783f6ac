"""Failures of the tor layer, one small class each, with fixed messages.

Tree (all are ``service.common.errors.AryzError``, so the CLI prints them without a traceback)::

    OnionError
    ├── OnionKeyError            a key file is missing, malformed or readable by others
    ├── ClientAuthError          a client-authorisation name or key file is not valid
    ├── TorUnsafeConfigError     a torrc could reach the public network, or is single-hop
    ├── TorLaunchError           tor did not start or exited
    ├── TorControlError          tor's control port cannot be reached or refused a command
    │   └── TorAuthError         the control port refused our authentication
    ├── OnionCollisionError      tor already publishes this onion (another aryz running?)
    └── SingleHopError           tor is configured for single-hop (non-anonymous) services

Messages never carry key material; they may name a file path the operator gave.
"""

from __future__ import annotations

from service.common.errors import AryzError


class OnionError(AryzError):
    code = "onion"
    message = "The onion service layer failed."


class OnionKeyError(OnionError):
    code = "onion_key"
    message = "An onion key file is missing or not valid."


class ClientAuthError(OnionError):
    code = "onion_client_auth"
    message = "The client authorisation entry is not valid."


class TorUnsafeConfigError(OnionError):
    code = "tor_unsafe_config"
    message = "The tor configuration was refused as unsafe."


class TorLaunchError(OnionError):
    code = "tor_launch"
    message = "tor did not start."


class TorControlError(OnionError):
    code = "tor_control"
    message = "tor's control port cannot be reached or refused a command."


class TorAuthError(TorControlError):
    code = "tor_auth"
    message = "tor's control port refused authentication."


class OnionCollisionError(OnionError):
    code = "onion_collision"
    message = "tor already publishes this onion address (is another aryz serve running?)."


class SingleHopError(OnionError):
    code = "onion_single_hop"
    message = "tor is configured for single-hop onion services; Aryz refuses to publish."
