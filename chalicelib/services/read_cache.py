"""What one warm instance remembers between requests on the download path.

An install asks for every candidate's ``.metadata`` and file; each answer needs the
project's record, the file's committed entry and, for small metadata, its bytes: three
or four DynamoDB and S3 reads for a request whose answer rarely changes. Two memories
take them off the common path:

- ``Recent``: entries read less than ``seconds`` ago (by the injected clock), found ones
  only, so a file published a moment ago is never refused from memory. What a change
  elsewhere (quarantine, a deleted release) costs is that long on other warm instances,
  the trade-off `WHARF_TOKEN_CACHE_SECONDS` makes for revocations;
- ``Bounded``: values that never change under their key (a published file's metadata:
  a filename is published once, forever), or that are checked before use (an index page
  against the serial its project's record says the pages reach), bounded in size, least
  recently used out first.

Small and local rather than a library: the Lambda's dependencies are kept to what it
must have (issue 14), and both need only an OrderedDict.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, clock: Callable[[], datetime], seconds: float, entries: int) -> None:
        self._clock = clock
        self._for = timedelta(seconds=seconds)
        self._entries = entries
        self._items: OrderedDict[K, tuple[V, datetime]] = OrderedDict()
        self._lock = threading.Lock()  # the local stack serves requests on threads

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            value, read_at = found
            if not read_at <= self._clock() < read_at + self._for:
                del self._items[key]
                return None
            return value

    def put(self, key: K, value: V) -> None:
        if not self._for:
            return
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (value, self._clock())
            while len(self._items) > self._entries:
                self._items.popitem(last=False)


class Bounded(Generic[K, V]):
    """Values by key, at most ``limit`` in all as ``size_of`` measures them, least recently
    used out first. For values that never change under their key (a published file's
    metadata), or that the caller checks before use (an index page against its serial)."""

    def __init__(self, limit: int, size_of: Callable[[V], int]) -> None:
        self._limit = limit
        self._size_of = size_of
        self._size = 0
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()  # the local stack serves requests on threads

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self._limit:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= self._size_of(old)
            self._items[key] = value
            self._size += size
            while self._size > self._limit:
                _, dropped = self._items.popitem(last=False)
                self._size -= self._size_of(dropped)
