"""A per-process cache of each stored image as the scroller sends it: its thumbnail and its card, ready as JSON.

The scroller sends the same images to many clients over and over. Each batch still asks the
database which of its images are alive, visible to the viewer and whose they are (all of
which can change at any time), but reads thumbnails only for the images this process does
not hold yet, and builds an image's card and its JSON only when the row differs from the
one they were made from: a batch is then one query and a few string joins.

Image ids are never reused, and nothing rewrites a stored image's thumbnail while servers run
(migrations that re-encode thumbnails run before they start), so a thumbnail never goes stale.
What can change (labels, description, visibility, owner, colours after a re-analysis) comes
with every batch's row, and an entry whose card was made from other values is made again.
Entries are dropped least recently used first once the cache holds more than its budget of
bytes. Threads (the websocket's database pools) share it under a lock.
"""

import os
from dataclasses import dataclass

from django.conf import settings

from gallery.lru import SharedLru
from gallery.serializers import CardJson, ImageCard

# Bookkeeping per entry beyond its thumbnail and JSON, roughly: the objects, their tuples and floats.
_ENTRY_OVERHEAD_BYTES = 1000


@dataclass(frozen=True, slots=True)
class StoredParts:
    thumbnail: bytes
    card: ImageCard
    json: CardJson
    # What card and json were made from: the image row's columns but its id and thumbnail, and the URLs' script prefix.
    source: tuple

    @property
    def size(self) -> int:
        return len(self.thumbnail) + len(self.json.head) + len(self.json.tail) + _ENTRY_OVERHEAD_BYTES


def new_stored_parts_cache(*, max_bytes: int) -> SharedLru[int, StoredParts]:
    return SharedLru(max_size=max_bytes, size_of=lambda parts: parts.size)


_cache: SharedLru[int, StoredParts] | None = None


def stored_parts_cache() -> SharedLru[int, StoredParts]:
    """The process's cache, sized by settings.SCROLLER_IMAGE_CACHE_MB on first use."""
    global _cache
    if _cache is None:
        _cache = new_stored_parts_cache(max_bytes=settings.SCROLLER_IMAGE_CACHE_MB * 1024 * 1024)
    return _cache


def _forget_cache_in_child() -> None:
    """A forked process (a test server) may serve another database than the one its parent cached from."""
    global _cache
    _cache = None


os.register_at_fork(after_in_child=_forget_cache_in_child)
