"""Keep Aryz's onion services published for as long as ``aryz serve`` runs.

A background thread holds the control connection. When it closes — tor restarted,
crashed, or the socket dropped — the services are gone with it (they are not detached),
so the keeper reconnects with a capped back-off and publishes them again. ``republish()``
(SIGHUP) re-reads the specs, e.g. after ``aryz onion client revoke``, and publishes anew.
Log lines carry only an error class name and never an address.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from onion.control import ControlEndpoint, OnionSpec, TorControl, connect, publish_all
from onion.errors import OnionError

log = logging.getLogger("aryz.onion")

SpecsFactory = Callable[[], Sequence[OnionSpec]]


class OnionKeeper:
    def __init__(
        self,
        endpoint: ControlEndpoint,
        specs: SpecsFactory,
        *,
        max_backoff: float = 10.0,
        connector: Callable[[ControlEndpoint], TorControl] = connect,
    ) -> None:
        self._endpoint = endpoint
        self._specs = specs
        self._max_backoff = max_backoff
        self._connect = connector
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._republish = threading.Event()
        self._lock = threading.Lock()
        self._control: TorControl | None = None
        self._thread: threading.Thread | None = None
        self.published = threading.Event()
        self.publications = 0  # how many times the services went up (tests read it)

    def publish_now(self) -> None:
        """First publication, in the caller's thread, so start-up fails loudly."""
        control = self._connect(self._endpoint)
        try:
            publish_all(control, self._specs())
        except BaseException:
            control.close()
            raise
        self._adopt(control)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="aryz-onion", daemon=True)
        self._thread.start()

    def republish(self) -> None:
        self._republish.set()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            if self._control is not None:
                self._control.close()  # the services end with the connection
                self._control = None

    def _adopt(self, control: TorControl) -> None:
        with self._lock:
            self._control = control
        control.on_close(self._wake.set)
        self.published.set()
        self.publications += 1

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                control = self._control
            if control is not None and control.is_alive() and not self._republish.is_set():
                continue
            self._republish.clear()
            self.published.clear()
            if control is not None:
                control.close()
                with self._lock:
                    self._control = None
            try:
                self.publish_now()
                backoff = 0.5
                log.warning("onion services published again")
            except OnionError as exc:
                log.warning("onion: cannot publish yet (%s); retrying", exc.code)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._wake.set()
