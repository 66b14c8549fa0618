"""A per-process copy of the posting lists that searches ask for, which ranking intersects and sums in numpy.

Ranking in the database (Fagin's threshold algorithm over the posting table, one statement per
chunk of postings with a look-up each in the other keywords' lists) read more postings the larger
the library: at 100,000 images a two-word query whose words seldom go together read 4,000
postings and their look-ups, p95 85 ms against 20 ms at 10,000, and all of it was the database's
CPU, not its disk. Here a keyword's whole list is read once (one range of the posting table's
primary key), kept as two arrays (6 bytes a posting), and a query intersects and
sums its keywords' lists in well under a millisecond at that size.

Freshness: every write of an image's postings stamps its `terms_changed_at` (an upload's insert
does too). A list is as of when it was read; each query asks the database for the images whose
terms changed since (minus CHANGE_SLACK, the longest a writer's transaction may stay open between
its stamp and its commit, and clock skew between servers), leaves them out of the copy and scores
them from the posting table instead. A list is read again when more than MAX_CHANGED images
changed since it was read, or when it is older than MAX_AGE_SECONDS, which bounds what a
transaction open for longer than the slack could hide. A bulk upload faster than 250 images/s
stamps more than MAX_CHANGED within the slack alone: each search then reads its lists again and
scores those images from the table, slower but right.

The copy holds postings whatever the image's visibility or deletion: privacy never rests on it,
every hit is checked against the database (gallery.search.selectors).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from gallery.lru import SharedLru
from gallery.models import Image, SearchPosting
from gallery.ranking_keys import ranking_keys
from gallery.realtime.stream import placeholders

CHANGE_SLACK = datetime.timedelta(seconds=20)
MAX_CHANGED = 5000
MAX_AGE_SECONDS = 600.0
TABLE_SCORES_PER_QUERY = 1000


@dataclass(frozen=True, slots=True)
class PostingList:
    """One keyword's postings as of `as_of`: image ids ascending, each with its weight."""

    text: str
    image_ids: np.ndarray  # int32, ascending
    weights: np.ndarray  # int16 (out of WEIGHT_SCALE)
    as_of: datetime.datetime
    read_at: float  # time.monotonic()

    @property
    def nbytes(self) -> int:
        return self.image_ids.nbytes + self.weights.nbytes


_cache: SharedLru[int, PostingList] = SharedLru(
    max_size=settings.SCROLLER_SEARCH_CACHE_MB * 2**20, size_of=lambda posting_list: posting_list.nbytes
)


def forget_posting_lists() -> None:
    """The next searches read their lists again (tests, whose databases give ids anew)."""
    _cache.clear()


def ranked_keys(*, keywords: dict[str, int]) -> np.ndarray:
    """The ranking keys (gallery.ranking_keys) of the images having every keyword (text: id), best first.

    A score is the sum of the keywords' weights in the image; ties go to the newer image.
    """
    lists = [_current_list(text=text, keyword_id=keyword_id) for text, keyword_id in keywords.items()]
    changed = _changed_since(min(posting_list.as_of for posting_list in lists), limit=MAX_CHANGED)
    if changed is None:
        lists = [_read_list(text=text, keyword_id=keyword_id) for text, keyword_id in keywords.items()]
        # However many changed within the slack (a bulk upload in progress, say): they are scored from the table.
        changed = _changed_since(min(posting_list.as_of for posting_list in lists))
        assert changed is not None
    image_ids, scores = _intersect(lists, leaving_out=np.asarray(changed, dtype=np.int32))
    fresh = scores_from_table(image_ids=changed, keyword_ids=list(keywords.values()))
    if fresh:
        image_ids = np.concatenate([image_ids, np.fromiter(fresh.keys(), dtype=np.int64, count=len(fresh))])
        scores = np.concatenate([scores, np.fromiter(fresh.values(), dtype=np.int64, count=len(fresh))])
    keys = ranking_keys(scores=scores, image_ids=image_ids)
    keys[::-1].sort()
    return keys


def _current_list(*, text: str, keyword_id: int) -> PostingList:
    found = _cache.get(keyword_id)
    # A keyword id read for another text: the database was emptied and filled again (as between tests).
    if found is None or found.text != text or time.monotonic() - found.read_at > MAX_AGE_SECONDS:
        return _read_list(text=text, keyword_id=keyword_id)
    return found


def _read_list(*, text: str, keyword_id: int) -> PostingList:
    # Stamped before the read, so that whatever a writer stamps after it counts as changed since.
    as_of = timezone.now() - CHANGE_SLACK
    table = connection.ops.quote_name(SearchPosting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT image_id, weight FROM {table} WHERE keyword_id = %s", [keyword_id])
        rows = np.array(cursor.fetchall(), dtype=np.int32).reshape(-1, 2)
    order = np.argsort(rows[:, 0])
    posting_list = PostingList(
        text=text,
        image_ids=rows[order, 0].copy(),
        weights=rows[order, 1].astype(np.int16),
        as_of=as_of,
        read_at=time.monotonic(),
    )
    _cache.put_many({keyword_id: posting_list})
    return posting_list


def _changed_since(moment: datetime.datetime, *, limit: int | None = None) -> list[int] | None:
    """Images whose terms were written at or after `moment`; None when there are more than `limit`."""
    changed = Image.objects.filter(terms_changed_at__gte=moment).values_list("pk", flat=True)
    found = list(changed if limit is None else changed[: limit + 1])
    return None if limit is not None and len(found) > limit else found


def _intersect(lists: Sequence[PostingList], *, leaving_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, summed weights) of the images in every list, as int64, but those `leaving_out`."""
    shortest, *others = sorted(lists, key=lambda posting_list: len(posting_list.image_ids))
    image_ids = shortest.image_ids.astype(np.int64)
    scores = shortest.weights.astype(np.int64)
    for other in others:
        if not len(image_ids):
            break
        places = np.minimum(np.searchsorted(other.image_ids, image_ids), len(other.image_ids) - 1)
        found = other.image_ids[places] == image_ids
        image_ids, scores = image_ids[found], scores[found] + other.weights[places[found]]
    if len(leaving_out):
        kept = ~np.isin(image_ids, leaving_out)
        image_ids, scores = image_ids[kept], scores[kept]
    return image_ids, scores


def scores_from_table(*, image_ids: list[int], keyword_ids: list[int]) -> dict[int, int]:
    """Summed weights of these images that have every keyword, read from the posting table."""
    table = connection.ops.quote_name(SearchPosting._meta.db_table)
    scores: dict[int, int] = {}
    # In pieces: a bulk upload can leave tens of thousands changed, more parameters than SQLite takes at once.
    with connection.cursor() as cursor:
        for start in range(0, len(image_ids), TABLE_SCORES_PER_QUERY):
            piece = image_ids[start : start + TABLE_SCORES_PER_QUERY]
            cursor.execute(
                f"SELECT image_id, SUM(weight) FROM {table} WHERE image_id IN ({placeholders(len(piece))}) "
                f"AND keyword_id IN ({placeholders(len(keyword_ids))}) GROUP BY image_id HAVING COUNT(*) = %s",
                [*piece, *keyword_ids, len(keyword_ids)],
            )
            scores.update((image_id, int(score)) for image_id, score in cursor.fetchall())
    return scores
