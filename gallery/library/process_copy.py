"""A copy of some of the library that each server process keeps in memory, read again whole in the background."""

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection

Copy = TypeVar("Copy")

logger = logging.getLogger(__name__)


class ProcessCopy(Generic[Copy]):
    """The current copy and the lock its users hold while they read, append to or replace it.

    `read_all()` reads the whole copy anew; `reload_in_background()` runs it in a thread of its own while
    requests go on with the copy they have, and swaps the result in, at most one such thread at a time.
    """

    def __init__(self, *, name: str, read_all: Callable[[], Copy]) -> None:
        self.lock = threading.Lock()
        self.current: Copy | None = None
        self._name = name
        self._read_all = read_all
        self._reloading = False

    def forget(self) -> None:
        """The next use reads the library again."""
        with self.lock:
            self.current = None

    def reload_in_background(self) -> None:
        """Called with `lock` held."""
        if not self._reloading:
            self._reloading = True
            threading.Thread(target=self._reload, name=self._name, daemon=True).start()

    def _reload(self) -> None:
        try:
            fresh = self._read_all()
            with self.lock:
                # What was appended meanwhile is newer than `fresh`, and is appended again at the next use.
                self.current = fresh
        except Exception:
            # A database that went away, say: requests go on with the copy in hand, and the next use asks again.
            logger.exception("reading the %s again failed; keeping the copy in hand", self._name)
        finally:
            self._reloading = False
            connection.close()
