"""Reads of the search index: images ranked by how well they match a query, best first.

An image matches when it has every term of the query (gallery.search.terms.query_terms);
its score is the sum of those terms' weights. Ranking reads the index with Fagin's threshold
algorithm rather than scoring every match: each term's postings are read strongest first, in
chunks (one range scan of search_term_ranked per term, joined to image_stream_filter for
"alive and visible to the viewer", so it touches no table rows); every image met is scored
whole at once by its (image, term) primary key; an image is handed out as soon as no image
not yet met can beat it (its score is above the sum of the weights each term's scan has
reached). So a query reads about as many postings as it hands out, whatever the size of
the catalogue, instead of every posting of its terms.

Order: score descending, then image id descending, a total order, so that a page can
continue strictly after the last hit of the previous one (SearchCursor).
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from gallery.models import DominantColor, Image, SearchTerm, ViewerScope
from gallery.realtime.stream import placeholders
from gallery.search.terms import WEIGHT_SCALE, query_terms
from gallery.selectors import hue_ranges, matching_colors

# Postings read per term in the first round: a page of 50 and one more, with room for images only one term has.
FIRST_CHUNK = 80
# Each round reads CHUNK_GROWTH times more than the last (fewer round trips for queries that must read deep), up to MAX_CHUNK.
CHUNK_GROWTH = 4
MAX_CHUNK = 8000


class Hit(NamedTuple):
    image_id: int
    score: int


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
class Postings:
    """How far the scan of one term's postings (strongest first) has got."""

    term: str
    weight: int | None = None
    image_id: int | None = None
    exhausted: bool = False


@dataclass
class RankedWalk:
    """The hits of one query in rank order, read incrementally: take() hands out the next ones."""

    terms: tuple[str, ...]
    filters: SearchFilters
    postings: list[Postings] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    # Scored hits not handed out yet, as (-score, -image_id): a heap in rank order.
    ready: list[tuple[int, int]] = field(default_factory=list)
    chunk: int = FIRST_CHUNK

    def __post_init__(self) -> None:
        if not self.postings:
            self.postings = [Postings(term=term) for term in self.terms]

    @property
    def finished(self) -> bool:
        return not self.ready and self._all_met()

    def take(self, count: int) -> list[Hit]:
        """The next `count` hits (fewer only when the query has no more)."""
        hits: list[Hit] = []
        while len(hits) < count and not self.finished:
            threshold = self._threshold()
            if self.ready and (threshold is None or -self.ready[0][0] > threshold):
                negative_score, negative_id = heapq.heappop(self.ready)
                hits.append(Hit(image_id=-negative_id, score=-negative_score))
            else:
                self._read_round()
        return hits

    def _all_met(self) -> bool:
        """Whether every matching image was met: an image must be in every term's postings, so one term read to its end is enough."""
        return not self.terms or any(postings.exhausted for postings in self.postings)

    def _threshold(self) -> int | None:
        """The best score an image not met yet could have; None when there is none left."""
        if self._all_met():
            return None
        if any(postings.weight is None for postings in self.postings):
            return WEIGHT_SCALE * len(self.terms) + 1
        return sum(postings.weight or 0 for postings in self.postings)

    def _read_round(self) -> None:
        met: set[int] = set()
        for postings in self.postings:
            rows = _read_postings(postings, filters=self.filters, limit=self.chunk)
            if len(rows) < self.chunk:
                postings.exhausted = True
            if rows:
                postings.image_id, postings.weight = rows[-1]
            met.update(image_id for image_id, _ in rows if image_id not in self.seen)
        self.seen |= met
        for image_id, score in _scores(image_ids=met, terms=self.terms).items():
            heapq.heappush(self.ready, (-score, -image_id))
        self.chunk = min(self.chunk * CHUNK_GROWTH, MAX_CHUNK)


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

    def precedes(self, hit: Hit) -> bool:
        return (hit.score, hit.image_id) < (self.score, self.image_id)


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Hit]
    term_count: int
    next_cursor: SearchCursor | None

    def relevance(self, hit: Hit) -> float:
        """A hit's score from 0 to 1: the mean weight of the query's terms in it."""
        return round(hit.score / (WEIGHT_SCALE * self.term_count), 4)


def start_walk(*, text: str, filters: SearchFilters) -> RankedWalk:
    return RankedWalk(terms=tuple(query_terms(text)), filters=filters)


def search_page(*, text: str, filters: SearchFilters, after: SearchCursor | None, limit: int) -> SearchPage:
    """One page of hits, best first, strictly after `after`; deeper pages read more of the index (every hit before them)."""
    walk = start_walk(text=text, filters=filters)
    hits: list[Hit] = []
    while len(hits) <= limit and not walk.finished:
        hits += [hit for hit in walk.take(limit + 1 - len(hits)) if after is None or after.precedes(hit)]
    page = hits[:limit]
    more = len(hits) > limit
    next_cursor = SearchCursor(score=page[-1].score, image_id=page[-1].image_id) if more else None
    return SearchPage(hits=page, term_count=len(walk.terms), next_cursor=next_cursor)


def matching_image_ids(*, text: str, image_ids: list[int], hue: int | None = None) -> list[int]:
    """Which of these images have every term of the query, and a colour near `hue` if given (for live events;
    visibility is the caller's)."""
    terms = query_terms(text)
    if not terms or not image_ids:
        return []
    scores = _scores(image_ids=set(image_ids), terms=tuple(terms))
    if hue is not None:
        near = set(matching_colors(hue=hue).filter(image_id__in=list(scores)).values_list("image_id", flat=True))
        scores = {image_id: score for image_id, score in scores.items() if image_id in near}
    return [image_id for image_id in image_ids if image_id in scores]


def _read_postings(postings: Postings, *, filters: SearchFilters, limit: int) -> list[tuple[int, int]]:
    """(image_id, weight) of the next `limit` postings of a term past where its scan stands, of images the filters allow."""
    visible_sql, visible_params = filters.scope.sql(alias="i")
    conditions = [visible_sql]
    params: list = [postings.term]
    if postings.weight is not None:
        conditions.insert(0, " AND (t.weight < %s OR (t.weight = %s AND t.image_id < %s))")
        params += [postings.weight, postings.weight, postings.image_id]
    params += visible_params
    if filters.owner_id is not None:
        conditions.append(" AND i.owner_id = %s")
        params.append(filters.owner_id)
    if filters.hue is not None:
        ranges = hue_ranges(hue=filters.hue, margin=settings.SCROLLER_HUE_MARGIN)
        conditions.append(_hue_sql(len(ranges)))
        params += [settings.SCROLLER_MIN_MATCH_SHARE, *(bound for hue_range in ranges for bound in hue_range)]
    with connection.cursor() as cursor:
        cursor.execute(_postings_sql(connection.vendor).format(conditions="".join(conditions)), [*params, limit])
        return cursor.fetchall()


def _scores(*, image_ids: set[int], terms: tuple[str, ...]) -> dict[int, int]:
    """The score of each of these images that has every term: one query by the (image, term) primary key."""
    if not image_ids:
        return {}
    table = connection.ops.quote_name(SearchTerm._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id, weight FROM {table} WHERE image_id IN ({placeholders(len(image_ids))}) "
            f"AND term IN ({placeholders(len(terms))})",
            [*image_ids, *terms],
        )
        totals: dict[int, int] = {}
        counts: dict[int, int] = {}
        for image_id, weight in cursor.fetchall():
            totals[image_id] = totals.get(image_id, 0) + weight
            counts[image_id] = counts.get(image_id, 0) + 1
    return {image_id: total for image_id, total in totals.items() if counts[image_id] == len(terms)}


@functools.cache
def _postings_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    # As in the hue stream: MariaDB would join by the primary key and read image rows, when
    # image_stream_filter covers everything asked of them.
    force_filter_index = " FORCE INDEX (image_stream_filter)" if vendor == "mysql" else ""
    return (
        f"SELECT t.image_id, t.weight FROM {quote(SearchTerm._meta.db_table)} t "
        f"INNER JOIN {quote(Image._meta.db_table)} i{force_filter_index} ON i.id = t.image_id "
        "WHERE t.term = %s{conditions} AND i.deleted_at IS NULL "
        "ORDER BY t.weight DESC, t.image_id DESC LIMIT %s"
    )


def _hue_sql(range_count: int) -> str:
    table = connection.ops.quote_name(DominantColor._meta.db_table)
    in_window = " OR ".join(["c.hue BETWEEN %s AND %s"] * range_count)
    return f" AND EXISTS (SELECT 1 FROM {table} c WHERE c.image_id = t.image_id AND c.share >= %s AND ({in_window}))"


@dataclass(frozen=True, slots=True)
class FoundImage:
    image: Image
    score: float


def search_images(
    *, viewer, text: str, hue: int | None, owner_only: bool, after: SearchCursor | None, limit: int
) -> tuple[list[FoundImage], SearchCursor | None]:
    """A page of the images matching `text` that the viewer may see, best first, and where the next page starts."""
    page = search_page(
        text=text, filters=SearchFilters.of(viewer=viewer, owner_only=owner_only, hue=hue), after=after, limit=limit
    )
    images = Image.objects.visible_to(viewer).alive().select_related("owner").defer("thumbnail")
    by_id = images.in_bulk([hit.image_id for hit in page.hits])
    found = [
        FoundImage(image=by_id[hit.image_id], score=page.relevance(hit)) for hit in page.hits if hit.image_id in by_id
    ]
    return found, page.next_cursor
