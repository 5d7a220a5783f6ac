"""Read the registry again without a restart: on SIGHUP, and when its files change.

Audit F-12: a revoked courier kept working until the server restarted. ``aryz serve``
now polls the registry file and its ``registry-changes/`` folder every
``ARYZ_REGISTRY_POLL_SECONDS`` (10 s by default) and reloads on SIGHUP. A new registry
that is not valid is not used: the server keeps the one it has and logs one line naming
what is wrong (coalition ids and file names only, never a key), so a typo never takes the
intake down or silently drops a revocation. Requests already past authentication finish
under the registry they started with; the next one sees the new one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from service.common.errors import RegistryError
from service.server.deps import Runtime
from service.server.registry.changes import changes_dir
from service.server.registry.logic import load_registry
from service.server.settings import Mode

log = logging.getLogger("aryz.registry")

Stamp = tuple[tuple[str, int, int, int], ...]


def stamp(path: Path) -> Stamp:
    """What changes when the registry or a change file is written, replaced or removed."""
    seen = []
    for candidate in [path, *sorted(changes_dir(path).glob("*.json"))]:
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        seen.append((candidate.name, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(seen)


class Watcher:
    """Reloads ``runtime.registry`` when asked, or when the files' stamp moved."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.path = runtime.settings.resolved_registry_path
        self.last = stamp(self.path)

    def reload(self) -> bool:
        """Load the registry again; True if the new one is now in use."""
        self.last = stamp(self.path)
        try:
            registry = load_registry(
                self.path, allow_demo=self.runtime.settings.mode is not Mode.PRODUCTION
            )
        except RegistryError as exc:
            log.warning("registry not reloaded, the previous one stays in use: %s", exc.message)
            return False
        # One assignment: a request reads either the old registry or the new one, whole.
        self.runtime.registry = registry
        return True

    def poll(self) -> bool:
        """Reload if a file changed since the last look; True if a new registry is in use."""
        if stamp(self.path) == self.last:
            return False
        return self.reload()
