"""Loaders of the search's word data, run once per process however many threads ask at the same moment."""

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def load_once(load: Callable[[], T]) -> Callable[[], T]:
    """`load()` on first use, its result ever after; threads that ask meanwhile wait for it.

    functools.cache lets every thread that arrives before the first result compute it too: the first
    chunk of uploads, handled by four database threads at once, read WordNet's 150,000 nouns four times
    (about 3.4 s of CPU each time on this project's machine).
    """
    lock = threading.Lock()
    loaded: list[T] = []

    @functools.wraps(load)
    def loaded_once() -> T:
        if not loaded:
            with lock:
                if not loaded:
                    loaded.append(load())
        return loaded[0]

    return loaded_once
