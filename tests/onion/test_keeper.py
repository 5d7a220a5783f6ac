"""The keeper re-publishes after tor restarts and on request, and stops cleanly."""

from __future__ import annotations

import time
from pathlib import Path

from onion.control import ControlEndpoint, OnionSpec, PowSettings, connect
from onion.errors import OnionCollisionError
from onion.keeper import OnionKeeper
from onion.keys import create_key
from tests.onion.conftest import start_light_tor


def _wait(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # polling a background thread; bounded by the deadline


def _is_published_elsewhere(endpoint: ControlEndpoint, spec: OnionSpec) -> bool:
    """True when tor still holds the key for another connection (a collision)."""
    with connect(endpoint) as probe:
        try:
            probe.publish(spec)
        except OnionCollisionError:
            return True
        probe.remove(spec.key.address)
        return False


def test_republishes_after_tor_restarts(short_dir: Path) -> None:
    spec = OnionSpec(
        "intake", create_key(short_dir / "k"), ((80, "127.0.0.1:9"),), pow=PowSettings()
    )
    tor = start_light_tor(short_dir)
    endpoint = ControlEndpoint(socket_path=tor.control_socket)
    keeper = OnionKeeper(endpoint, lambda: [spec], max_backoff=0.5)
    keeper.publish_now()
    keeper.start()
    try:
        assert keeper.publications == 1
        assert _is_published_elsewhere(endpoint, spec)
        tor.stop()
        _wait(lambda: not keeper.published.is_set())
        tor = start_light_tor(short_dir)  # same data dir, same control socket path
        _wait(lambda: keeper.publications == 2)
        assert keeper.published.is_set()
        assert _is_published_elsewhere(endpoint, spec)
    finally:
        keeper.stop()
        tor.stop()


def test_republish_reads_the_specs_again_and_stop_unpublishes(short_dir: Path) -> None:
    first = OnionSpec("a", create_key(short_dir / "a"), ((80, "127.0.0.1:9"),))
    second = OnionSpec("b", create_key(short_dir / "b"), ((80, "127.0.0.1:9"),))
    current = [first]
    tor = start_light_tor(short_dir)
    endpoint = ControlEndpoint(socket_path=tor.control_socket)
    keeper = OnionKeeper(endpoint, lambda: list(current), max_backoff=0.5)
    try:
        keeper.publish_now()
        keeper.start()
        current[:] = [second]  # e.g. a courier revoked, a client list changed
        keeper.republish()
        _wait(lambda: keeper.publications == 2)
        _wait(lambda: not _is_published_elsewhere(endpoint, first))
        assert _is_published_elsewhere(endpoint, second)
        keeper.stop()
        _wait(lambda: not _is_published_elsewhere(endpoint, second))
    finally:
        keeper.stop()
        tor.stop()
