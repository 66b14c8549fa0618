"""A least-recently-used cache that threads share: cachetools' LRUCache, sized by a function of each value, under a lock."""

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from cachetools import LRUCache

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class SharedLru(Generic[Key, Value]):
    """Holds values whose sizes (`size_of`, 1 each by default) add up to at most `max_size`.

    A value larger than the whole cache is not kept; reading a value makes it the most recently used.
    """

    def __init__(self, *, max_size: float, size_of: Callable[[Value], float] | None = None) -> None:
        self.max_size = max_size
        self._values: LRUCache[Key, Value] = LRUCache(maxsize=max_size, getsizeof=size_of)
        self._size_of = size_of or (lambda value: 1)
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        with self._lock:
            return self._values.get(key)

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Value]:
        with self._lock:
            return {key: value for key in keys if (value := self._values.get(key)) is not None}

    def put_many(self, values: dict[Key, Value]) -> None:
        with self._lock:
            for key, value in values.items():
                if self._size_of(value) <= self.max_size:
                    self._values[key] = value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    @property
    def size_held(self) -> float:
        return self._values.currsize

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values
