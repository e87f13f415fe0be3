"""The published version a request is served from, switched atomically when a build publishes.

Each request takes one snapshot (version + store) at its start and uses only it, so a rebuild
during a request never mixes two versions in one answer."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pianold.publish import CURRENT, PUSHED, Version, current_version
from pianold.store import EmbeddedStore, Store


@dataclass(frozen=True)
class Snapshot:
    version: Version
    store: Store


class NotPublished(Exception):
    """Nothing has been published in the output folder yet."""


class Published:
    def __init__(self, dist: Path, store_url: str | None = None, timeout: float = 10.0):
        self.dist = Path(dist)
        # a remote store answers for the version loaded into it, not for a newer build not yet pushed
        self.link_name = PUSHED if store_url else CURRENT
        self.current_link = str(self.dist / self.link_name)
        self.store_url = store_url
        self.timeout = timeout
        self._lock = threading.Lock()
        self._target: str | None = None
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        try:
            target = os.readlink(self.current_link)
        except OSError:
            target = None
        snap = self._snapshot
        if snap is not None and target == self._target:
            return snap
        with self._lock:
            if self._snapshot is None or target != self._target:
                version = current_version(self.dist, self.link_name)
                if version is None:
                    # said to any client: no address of the store nor folder of the server (the operator knows them)
                    raise NotPublished("nothing has been loaded into the data store: run `pianold build`, then "
                                       "`pianold push`" if self.store_url else "nothing is published yet: run `pianold build`")
                self._snapshot = Snapshot(version, self._open_store(version))
                self._target = target
            return self._snapshot

    def _open_store(self, version: Version) -> Store:
        if self.store_url:
            from pianold.store.remote import RemoteStore

            return RemoteStore(self.store_url, self.timeout)
        return EmbeddedStore(version.store_path)
