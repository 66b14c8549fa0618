"""Reads of the search index: images ranked by how well they match a query, best first.

An image matches when it has every term of the query (gallery.search.terms.query_terms);
its score is the sum of those terms' weights. Ranking reads the index with Fagin's threshold
algorithm rather than scoring every match: each keyword's postings are scanned strongest first,
in chunks, as one range of the posting table's primary key (keyword, weight, image); the same
statement keeps the postings of the chunk whose image has every other keyword too (a look-up in
the (image, keyword) index each, which also gives the image's whole score) and that the viewer
may see (image_stream_filter, so it touches no image rows). An image is handed out as soon as no
image not yet met can beat it: its score is above the sum of the weights each scan has reached.
So a query reads about as many postings as it hands out when its keywords go together, and at
most its rarest keyword's postings (times the number of keywords) when they do not.

Order: score descending, then image id descending, a total order, so that a page can
continue strictly after the last hit of the previous one (SearchCursor).
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from gallery.models import DominantColor, Image, SearchKeyword, SearchPosting, ViewerScope
from gallery.realtime.stream import placeholders
from gallery.search.terms import WEIGHT_SCALE, query_terms
from gallery.selectors import hue_ranges, matching_colors

# Postings scanned per keyword in the first round: a page of 50 and one more, with room for images that lack
# another keyword.
FIRST_CHUNK = 100
# Each round scans CHUNK_GROWTH times more than the last (fewer round trips for queries that must read deep),
# up to MAX_CHUNK: the scan and its look-ups run in the database, so a large chunk costs no Python per posting.
CHUNK_GROWTH = 4
MAX_CHUNK = 25600
# A query of several keywords counts their postings up to this many first: one that has fewer is read to its end
# once that costs less than a round of reading them all.
COUNT_LIMIT = 12800


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
class Scan:
    """How far the scan of one keyword's postings (strongest first) has got."""

    keyword_id: int
    # How many postings the keyword has, counted up to COUNT_LIMIT (None: at least that many).
    postings: int | None = None
    examined: int = 0
    weight: int | None = None
    image_id: int | None = None
    exhausted: bool = False

    @property
    def remaining(self) -> int | None:
        return None if self.postings is None else max(self.postings - self.examined, 0)


@dataclass
class RankedWalk:
    """The hits of one query in rank order, read incrementally: take() hands out the next ones."""

    terms: tuple[str, ...]
    filters: SearchFilters
    # One per keyword of the query; none when a term is no keyword at all (then nothing matches).
    scans: list[Scan] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    # Scored hits not handed out yet, as (-score, -image_id): a heap in rank order.
    ready: list[tuple[int, int]] = field(default_factory=list)
    chunk: int = FIRST_CHUNK

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
        """Whether every matching image was met: an image must be in every keyword's postings, so one scan to its end is enough."""
        return not self.scans or any(scan.exhausted for scan in self.scans)

    def _threshold(self) -> int | None:
        """The best score an image not met yet could have; None when there is none left."""
        if self._all_met():
            return None
        return sum(WEIGHT_SCALE if scan.weight is None else scan.weight for scan in self.scans)

    def _read_round(self) -> None:
        keyword_ids = [scan.keyword_id for scan in self.scans]
        for scan, limit in self._round_plan():
            for image_id, score in _scan_matches(scan, keyword_ids=keyword_ids, filters=self.filters, limit=limit):
                if image_id not in self.seen:
                    self.seen.add(image_id)
                    heapq.heappush(self.ready, (-score, -image_id))
        self.chunk = min(self.chunk * CHUNK_GROWTH, MAX_CHUNK)

    def _round_plan(self) -> list[tuple[Scan, int]]:
        """Which scans read how far this round: a chunk each; but when the rarest keyword's remaining postings
        are fewer than the round would read in all, only the rest of those (which meets every match, so the
        longer lists need not be read at all)."""
        if len(self.scans) > 1 and all(scan.postings is None and not scan.examined for scan in self.scans):
            _count_postings(self.scans)
        rarest = min(self.scans, key=lambda scan: COUNT_LIMIT if scan.remaining is None else scan.remaining)
        if rarest.remaining is not None and rarest.remaining <= self.chunk * len(self.scans):
            return [(rarest, rarest.remaining + 1)]
        return [(scan, self.chunk) for scan in self.scans]


def _count_postings(scans: list[Scan]) -> None:
    """Count each scan's postings, up to COUNT_LIMIT: a range of the primary key each, in one statement."""
    table = connection.ops.quote_name(SearchPosting._meta.db_table)
    counted = " UNION ALL ".join(
        f"SELECT %s, COUNT(*) FROM (SELECT 1 FROM {table} WHERE keyword_id = %s LIMIT %s) c{index}"
        for index in range(len(scans))
    )
    with connection.cursor() as cursor:
        cursor.execute(counted, [value for scan in scans for value in (scan.keyword_id, scan.keyword_id, COUNT_LIMIT)])
        counts = dict(cursor.fetchall())
    for scan in scans:
        count = counts[scan.keyword_id]
        scan.postings = count if count < COUNT_LIMIT else None


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
    terms = tuple(query_terms(text))
    ids = keyword_ids(terms=terms)
    scans = [Scan(keyword_id=ids[term]) for term in terms] if len(ids) == len(terms) else []
    return RankedWalk(terms=terms, filters=filters, scans=scans)


def keyword_ids(*, terms: Iterable[str]) -> dict[str, int]:
    """The number of each of these terms that is a keyword of the index."""
    return dict(SearchKeyword.objects.filter(text__in=list(terms)).values_list("text", "id"))


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
    ids = keyword_ids(terms=terms)
    if not terms or len(ids) < len(terms) or not image_ids:
        return []
    matching = _having_every_keyword(image_ids=image_ids, keyword_ids=list(ids.values()))
    if hue is not None:
        matching &= set(matching_colors(hue=hue).filter(image_id__in=matching).values_list("image_id", flat=True))
    return [image_id for image_id in image_ids if image_id in matching]


def _having_every_keyword(*, image_ids: list[int], keyword_ids: list[int]) -> set[int]:
    table = connection.ops.quote_name(SearchPosting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id FROM {table} WHERE image_id IN ({placeholders(len(image_ids))}) "
            f"AND keyword_id IN ({placeholders(len(keyword_ids))}) GROUP BY image_id HAVING COUNT(*) = %s",
            [*image_ids, *keyword_ids, len(keyword_ids)],
        )
        return {image_id for (image_id,) in cursor.fetchall()}


def _scan_matches(scan: Scan, *, keyword_ids: list[int], filters: SearchFilters, limit: int) -> list[tuple[int, int]]:
    """(image_id, score) of the images among the next `limit` postings of the scan's keyword that have every
    keyword and that the filters allow; moves the scan past those postings."""
    others = [keyword_id for keyword_id in keyword_ids if keyword_id != scan.keyword_id]
    position_sql, position_params = (
        ("", []) if scan.weight is None else (_PAST_POSITION, [scan.weight, scan.weight, scan.image_id])
    )
    chunk_params = [scan.keyword_id, *position_params]
    filter_sql, filter_params = _filter_sql(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            _scan_sql(
                vendor=connection.vendor, other_count=len(others), position=bool(position_sql), filters=filter_sql
            ),
            [*chunk_params, limit, *others, *filter_params, *chunk_params, limit - 1],
        )
        rows = cursor.fetchall()
    matches = [(image_id, score) for is_last, image_id, score in rows if not is_last]
    last = [(image_id, weight) for is_last, image_id, weight in rows if is_last]
    scan.examined += limit
    if last:
        scan.image_id, scan.weight = last[0]
    else:
        scan.exhausted = True
    return matches


_PAST_POSITION = " AND (weight < %s OR (weight = %s AND image_id < %s))"


def _filter_sql(filters: SearchFilters) -> tuple[str, list]:
    """Conditions on the image `i` of a posting `p`: visible to the viewer, and the owner's and near the hue if asked."""
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


@functools.cache
def _scan_sql(*, vendor: str, other_count: int, position: bool, filters: str) -> str:
    """The chunk's matches with their scores (is_last 0), then the chunk's last posting (is_last 1), if any."""
    quote = connection.ops.quote_name
    postings = quote(SearchPosting._meta.db_table)
    chunk = (
        f"SELECT image_id, weight FROM {postings} WHERE keyword_id = %s{_PAST_POSITION if position else ''} "
        "ORDER BY weight DESC, image_id DESC"
    )
    # MariaDB is told the plan (the hue stream does the same): from the chunk, a look-up per posting in each
    # other keyword's (keyword, image) range and in image_stream_filter. Left to itself it reads every
    # posting of another keyword, or the image rows.
    mysql = vendor == "mysql"
    straight, probe_index, filter_index = (
        ("STRAIGHT_JOIN ", " FORCE INDEX (search_posting_keyword_image)", " FORCE INDEX (image_stream_filter)")
        if mysql
        else ("", "", "")
    )
    joins = "".join(
        f" INNER JOIN {postings} o{index}{probe_index} ON o{index}.image_id = p.image_id AND o{index}.keyword_id = %s"
        for index in range(other_count)
    )
    score = "".join(f" + o{index}.weight" for index in range(other_count))
    return (
        f"SELECT {straight}0, p.image_id, p.weight{score} FROM ({chunk} LIMIT %s) p{joins} "
        f"INNER JOIN {quote(Image._meta.db_table)} i{filter_index} ON i.id = p.image_id "
        f"WHERE i.deleted_at IS NULL{filters} "
        f"UNION ALL SELECT 1, last.image_id, last.weight FROM ({chunk} LIMIT 1 OFFSET %s) last"
    )


def _hue_sql(range_count: int) -> str:
    table = connection.ops.quote_name(DominantColor._meta.db_table)
    in_window = " OR ".join(["c.hue BETWEEN %s AND %s"] * range_count)
    return f" AND EXISTS (SELECT 1 FROM {table} c WHERE c.image_id = p.image_id AND c.share >= %s AND ({in_window}))"


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
