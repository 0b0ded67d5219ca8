"""A size-bounded, optionally time-bounded cache (least recently used goes first), safe to
share between threads. Every per-question and per-user memory in the app is one of these."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    def __init__(self, size: int, ttl: float | None = None):
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._get(key)

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._put(key, value)

    def get_or_create(self, key: Hashable, factory: Callable[[], V]) -> tuple[V, bool]:
        """(the value, whether it was just created) — atomically."""
        with self._lock:
            found = self._get(key)
            if found is not None:
                return found, False
            value = factory()
            self._put(key, value)
            return value, True

    def _get(self, key: Hashable) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        if self.ttl is not None and time.monotonic() - found[0] > self.ttl:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return found[1]

    def _put(self, key: Hashable, value: V) -> None:
        if self.size <= 0:
            return
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
