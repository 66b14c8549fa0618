"""Reads of the search index: images ranked by how well they match a query, best first.

An image matches when it has every term of the query (gallery.search.terms.query_terms);
its score is the sum of those terms' weights. The ranking of every match comes from the
process's copy of the keywords' posting lists (gallery.search.postings); the database then
says which of the best are alive, visible to the viewer and pass the filters (owner, hue), a
round of candidates at a time, reading only the image_stream_filter index (and colours for a hue).

Order: score descending, then image id descending, a total order, so that a page can
continue strictly after the last hit of the previous one (SearchCursor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import connection

from gallery.listing_cache import ALIVE_CONDITION, ListedImage, listed_images_at, visible_versions
from gallery.models import DominantColor, SearchKeyword, ViewerScope
from gallery.ranking_keys import image_ids_of, key_of, scores_of
from gallery.search.postings import ranked_keys, scores_from_table
from gallery.search.terms import WEIGHT_SCALE, query_terms
from gallery.selectors import hue_ranges, matching_colors

# Candidates are checked against the filters a round at a time, best first: the first round a
# quarter more than asked for (most matches pass for most viewers), each further round twice the
# one before, so that filters that keep few need few rounds.
CHECKED_FIRST_EXTRA = 1.25
CHECKED_GROWTH = 2


class Hit(NamedTuple):
    image_id: int
    score: int
    # The image's listing version when it passed the filters (gallery.listing_cache.visible_versions).
    version: tuple


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Which images a search may return besides matching its terms."""

    scope: ViewerScope
    owner_id: int | None = None
    hue: int | None = None

    @classmethod
    def of(cls, *, viewer, owner_only: bool = False, hue: int | None = None) -> SearchFilters:
        return cls(scope=ViewerScope.of(viewer), owner_id=viewer.pk if owner_only else None, hue=hue)


@dataclass
class RankedWalk:
    """The hits of one query in rank order, read incrementally: take() hands out the next ones."""

    terms: tuple[str, ...]
    filters: SearchFilters
    # Every match's ranking key (gallery.ranking_keys), best first; read-only, shared by copies of the walk.
    keys: np.ndarray
    # How many of `keys` were checked against the filters.
    checked: int = 0
    # Hits that passed and were not handed out yet, in rank order.
    ready: list[Hit] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return not self.ready and self.checked >= len(self.keys)

    def take(self, count: int) -> list[Hit]:
        """The next `count` hits (fewer only when the query has no more)."""
        batch = round(count * CHECKED_FIRST_EXTRA) + 8
        while len(self.ready) < count and self.checked < len(self.keys):
            candidates = self.keys[self.checked : self.checked + batch]
            self.checked += len(candidates)
            self.ready += _passing(candidates, filters=self.filters)
            batch *= CHECKED_GROWTH
        hits, self.ready = self.ready[:count], self.ready[count:]
        return hits

    def __deepcopy__(self, memo: dict) -> RankedWalk:
        return RankedWalk(
            terms=self.terms, filters=self.filters, keys=self.keys, checked=self.checked, ready=list(self.ready)
        )


def _passing(keys: np.ndarray, *, filters: SearchFilters) -> list[Hit]:
    """The hits among these keys (in their order) that are alive and that the filters let through."""
    image_ids = image_ids_of(keys).tolist()
    filter_sql, filter_params = filter_conditions(filters)
    versions = visible_versions(image_ids=image_ids, conditions=ALIVE_CONDITION + filter_sql, params=filter_params)
    scores = scores_of(keys).tolist()
    return [
        Hit(image_id=image_id, score=score, version=versions[image_id])
        for image_id, score in zip(image_ids, scores, strict=True)
        if image_id in versions
    ]


@dataclass(frozen=True, slots=True)
class SearchCursor:
    """Where a page of hits ended: the next page starts strictly after this hit."""

    score: int
    image_id: int

    def encode(self) -> str:
        return f"{self.score}.{self.image_id}"

    @classmethod
    def decode(cls, text: str) -> SearchCursor:
        """Raises ValueError for anything encode() did not make."""
        score, image_id = (int(part) for part in text.split("."))
        if score < 0 or image_id < 1:
            raise ValueError(text)
        return cls(score=score, image_id=image_id)


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Hit]
    term_count: int
    next_cursor: SearchCursor | None

    def relevance(self, hit: Hit) -> float:
        """A hit's score from 0 to 1: the mean weight of the query's terms in it."""
        return round(hit.score / (WEIGHT_SCALE * self.term_count), 4)


def start_walk(*, text: str, filters: SearchFilters, after: SearchCursor | None = None) -> RankedWalk:
    """A walk over the matches of `text`, strictly after `after` if given."""
    terms = tuple(query_terms(text))
    ids = keyword_ids(terms=terms)
    keys = ranked_keys(keywords=ids) if terms and len(ids) == len(terms) else np.zeros(0, dtype=np.int64)
    if after is not None:
        keys = keys[keys < key_of(score=after.score, image_id=after.image_id)]
    keys.flags.writeable = False
    return RankedWalk(terms=terms, filters=filters, keys=keys)


def keyword_ids(*, terms: Iterable[str]) -> dict[str, int]:
    """The number of each of these terms that is a keyword of the index."""
    return dict(SearchKeyword.objects.filter(text__in=list(terms)).values_list("text", "id"))


def search_page(*, text: str, filters: SearchFilters, after: SearchCursor | None, limit: int) -> SearchPage:
    """One page of hits, best first, strictly after `after`."""
    walk = start_walk(text=text, filters=filters, after=after)
    hits = walk.take(limit + 1)
    page = hits[:limit]
    more = len(hits) > limit
    next_cursor = SearchCursor(score=page[-1].score, image_id=page[-1].image_id) if more else None
    return SearchPage(hits=page, term_count=len(walk.terms), next_cursor=next_cursor)


def matching_image_ids(*, text: str, image_ids: list[int], hue: int | None = None) -> list[int]:
    """Which of these images have every term of the query, and a colour near `hue` if given (for live events;
    visibility is the caller's)."""
    terms = query_terms(text)
    ids = keyword_ids(terms=terms)
    if not terms or len(ids) < len(terms) or not image_ids:
        return []
    matching = set(scores_from_table(image_ids=image_ids, keyword_ids=list(ids.values())))
    if hue is not None:
        matching &= set(matching_colors(hue=hue).filter(image_id__in=matching).values_list("image_id", flat=True))
    return [image_id for image_id in image_ids if image_id in matching]


def filter_conditions(filters: SearchFilters) -> tuple[str, list]:
    """SQL conditions on an image `i`, each starting with AND, and their parameters: visible to the viewer, and the
    owner's and near the hue if asked (`listing_cache.visible_versions` takes them)."""
    visible_sql, params = filters.scope.sql(alias="i")
    conditions = [visible_sql]
    if filters.owner_id is not None:
        conditions.append(" AND i.owner_id = %s")
        params = [*params, filters.owner_id]
    if filters.hue is not None:
        ranges = hue_ranges(hue=filters.hue, margin=settings.SCROLLER_HUE_MARGIN)
        conditions.append(_hue_sql(len(ranges)))
        params = [*params, settings.SCROLLER_MIN_MATCH_SHARE, *(bound for hue_range in ranges for bound in hue_range)]
    return "".join(conditions), params


def _hue_sql(range_count: int) -> str:
    table = connection.ops.quote_name(DominantColor._meta.db_table)
    in_window = " OR ".join(["c.hue BETWEEN %s AND %s"] * range_count)
    return f" AND EXISTS (SELECT 1 FROM {table} c WHERE c.image_id = i.id AND c.share >= %s AND ({in_window}))"


@dataclass(frozen=True, slots=True)
class FoundImage:
    listed: ListedImage
    score: float


def search_images(
    *, viewer, text: str, hue: int | None, owner_only: bool, after: SearchCursor | None, limit: int
) -> tuple[list[FoundImage], SearchCursor | None]:
    """A page of the images matching `text` that the viewer may see, best first, and where the next page starts."""
    page = search_page(
        text=text, filters=SearchFilters.of(viewer=viewer, owner_only=owner_only, hue=hue), after=after, limit=limit
    )
    by_id = listed_images_at(viewer=viewer, versions={hit.image_id: hit.version for hit in page.hits})
    found = [
        FoundImage(listed=by_id[hit.image_id], score=page.relevance(hit)) for hit in page.hits if hit.image_id in by_id
    ]
    return found, page.next_cursor
