"""Which connection gives way when the bound is reached (service/server/web/connections.py)."""

from __future__ import annotations

from service.server.web.connections import EVICTED, REFUSED, ConnectionGuard


class _Connection:
    """Stands in for a protocol: the guard reads ``awaiting_head`` and may close it."""

    def __init__(self, awaiting_head: bool) -> None:
        self.awaiting_head = awaiting_head
        self.closed = False

    def close_quietly(self) -> None:
        self.closed = True


def _guard(bound: int) -> ConnectionGuard:
    return ConnectionGuard(max_connections=bound, head_timeout=1.0, max_head_bytes=1024)


def _admit(guard: ConnectionGuard, connection: _Connection) -> bool:
    return guard.admit(connection)  # type: ignore[arg-type]


def test_the_longest_idle_connection_gives_way() -> None:
    guard = _guard(3)
    busy, idle_old, idle_new = _Connection(False), _Connection(True), _Connection(True)
    for connection in (busy, idle_old, idle_new):
        assert _admit(guard, connection)
    newcomer = _Connection(True)
    assert _admit(guard, newcomer)
    assert idle_old.closed
    assert not busy.closed
    assert not idle_new.closed
    assert len(guard) == 3
    assert guard.counts[EVICTED] == 1


def test_a_connection_waiting_again_after_an_answer_is_the_newest_idle_one() -> None:
    guard = _guard(2)
    first, second = _Connection(True), _Connection(True)
    _admit(guard, first)
    _admit(guard, second)
    guard.waiting_again(first)  # type: ignore[arg-type]
    assert _admit(guard, _Connection(True))
    assert second.closed
    assert not first.closed


def test_when_every_connection_is_busy_the_newcomer_is_refused() -> None:
    guard = _guard(2)
    busy = [_Connection(False), _Connection(False)]
    for connection in busy:
        _admit(guard, connection)
    assert not _admit(guard, _Connection(True))
    assert not any(connection.closed for connection in busy)
    assert guard.counts[REFUSED] == 1


def test_released_connections_free_their_place() -> None:
    guard = _guard(1)
    first = _Connection(False)
    _admit(guard, first)
    guard.release(first)  # type: ignore[arg-type]
    assert _admit(guard, _Connection(False))
