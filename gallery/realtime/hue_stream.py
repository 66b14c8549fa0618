"""The hue stream: which images one scroller connection is shown next (reads only).

A connection subscribes to a hue. An image matches when one of its dominant
colours lies within `margin` degrees of that hue on the colour circle and covers
at least SCROLLER_MIN_MATCH_SHARE of it; monochrome images have no hued colours
and never match. Only alive images the viewer may see are streamed.

How the stream walks the catalogue without ever loading the matching pool:

* Every image has one random `shuffle` key (0 .. 2**32-1) shared by all its
  colours, and the index (hue, shuffle, share, image) sorts each integer hue by it.
* A cycle picks a random start key and direction, then walks the key space
  from the start to its end (phase 0) and wraps round to the start (phase 1).
  The cursor is the last shuffle key taken; every read continues strictly
  past it, so an image is met at most once per cycle however many of its
  colours match. When both phases are walked the pool is used up and the next
  cycle starts at a new random key and direction: a new order.
* One read takes the next stretch of keys past the cursor in a single query:
  `hue IN (window) AND shuffle in [start, end) AND share >= min`, i.e. one
  range scan of the (hue, shuffle, share, image) index per integer hue in the
  window, each row joined to its image's entry in the (id, deleted_at,
  visibility, owner) index to keep only alive images the viewer may see: both
  indexes cover the query, so a walk touches no table rows. The stretch is sized from the density of matches seen so
  far to hold about what is needed, so a read touches O(window + batch) index
  entries whatever the catalogue's size; a stretch that turns out far denser
  than estimated (READ_CAP rows) is read again narrower. Keys are taken in
  walking order, all the colours of one key together.
* Each image taken is scored (larger and closer colours score higher, with a
  little random jitter so that each cycle orders a small pool anew) and held
  in a short lookahead; every batch hands out the best-scoring candidates in
  it. Close, large matches therefore surface early in the stream, not only
  first within their batch; images deleted meanwhile drop out when the batch
  is loaded.
* A batch walks only when its lookahead runs short. After a batch, the
  consumer reads ahead: read_ahead walks a copy of the stream's walk on while
  batches keep coming from the lookahead, and apply_read_ahead takes the result
  in unless the stream walked on, restarted or widened meanwhile. So most
  requests cost one query by primary key (see load_images) and no walk.
* Images pushed live to the client (uploads, restores) are remembered for the
  rest of the cycle and skipped when the walk reaches them.
* When a whole fresh cycle finds nothing, the margin widens step by step
  (WIDER_MARGINS) before the stream admits that nothing matches at all.

Invariants: within a cycle no image is handed out twice; a cycle ends only
when every image that matched throughout it has been handed out; two streams
at the same hue start at independent random keys.
"""

from __future__ import annotations

import functools
import operator
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple

from django.conf import settings
from django.db import connection

from accounts.users import Viewer
from gallery.models import DominantColor, Image, ViewerScope
from gallery.realtime.stream import (
    NEXT_BATCH_SIZE,
    PUSHED_MEMORY,
    SENT_MEMORY,
    RecentIds,
    StreamedImage,
    load_images,
    placeholders,
)

KEY_SPACE = 2**32
# Candidates held beyond the batch: a batch that finds fewer than LOOKAHEAD_LOW walks for
# them itself; after it, reading ahead tops them up to LOOKAHEAD_HIGH, so that one read
# serves several batches.
LOOKAHEAD_LOW = 20
LOOKAHEAD_HIGH = 60
# Each read-ahead aims at a random level within this fraction of LOOKAHEAD_HIGH. Clients that
# subscribed together (a crowd reconnecting after a restart) would otherwise run out of
# lookahead in the same second every few batches, and their walks would arrive as one burst.
LOOKAHEAD_JITTER = 0.5
WIDER_MARGINS = (30, 60, 90, 180)
# Scores are scaled by a random factor in [1 - SCORE_JITTER, 1].
SCORE_JITTER = 0.25
WALK_DONE = 2
# Each read covers a stretch of the key space sized to hold the keys it needs, from the density seen so far.
INITIAL_SPAN = 2**22
MIN_SPAN = 1
SPAN_HEADROOM = 2
READ_CAP = 2000


class Candidate(NamedTuple):
    """An image the walk found, waiting in the lookahead.

    A tuple of atomic values, which Python's garbage collector stops tracking: a thousand
    streams hold tens of thousands of these, and as tracked objects they made every full
    collection pause the server for a quarter of a second.
    """

    image_id: int
    rank: float


# Candidate.rank, read in C: the lookahead is sorted for every batch.
_BY_RANK = operator.itemgetter(1)


@dataclass
class Walk:
    """Where a cycle's walk through the key space stands."""

    start: int
    descending: bool
    phase: int = 0
    cursor: int | None = None
    density: float | None = None


@dataclass
class HueStream:
    """A stream of the images whose dominant colours match a hue (the Stream interface of gallery.realtime.stream)."""

    matches_by_index: ClassVar[bool] = False

    hue: int
    margin: int
    walk: Walk
    widened: bool = False
    cycle: int = 0
    shown_in_cycle: int = 0
    lookahead: list[Candidate] = field(default_factory=list)
    pushed: RecentIds = field(default_factory=lambda: RecentIds(limit=PUSHED_MEMORY))
    sent: RecentIds = field(default_factory=lambda: RecentIds(limit=SENT_MEMORY))
    rng: random.Random = field(default_factory=random.Random)

    def describe(self) -> dict[str, Any]:
        return {"hue": self.hue, "margin": self.margin, "widened": self.widened, "cycle": self.cycle}

    def next_batch(self, *, viewer: Viewer, size: int, may_walk: bool = True) -> list[StreamedImage]:
        return next_batch(self, viewer=viewer, size=size, may_walk=may_walk)

    def can_serve(self, *, size: int) -> bool:
        return can_serve(self, size=size)

    def needs_read_ahead(self) -> bool:
        return needs_read_ahead(self)

    def read_ahead(self, *, viewer: Viewer) -> ReadAhead:
        return read_ahead(self, viewer=viewer)

    def apply_read_ahead(self, result: object) -> None:
        assert isinstance(result, ReadAhead)
        apply_read_ahead(self, result)

    def matching_live(self, *, announced: list[dict]) -> list[int]:
        """A widened stream that an announced image matches at the configured margin narrows back to it first
        (a new cycle): closer matches exist now, so the wide ones are no longer what it shows."""
        if self.widened and _matching(announced, hue=self.hue, margin=settings.SCROLLER_HUE_MARGIN):
            _start_cycle(self)
        return _matching(announced, hue=self.hue, margin=self.margin)

    def mark_pushed(self, *, image_ids: set[int]) -> None:
        for image_id in image_ids:
            self.pushed.add(image_id)
        self.shown_in_cycle += len(image_ids)
        self.lookahead = [candidate for candidate in self.lookahead if candidate.image_id not in image_ids]


def _matching(announced: list[dict], *, hue: int, margin: int) -> list[int]:
    return [item["id"] for item in announced if match_score(hue=hue, margin=margin, colors=item["colors"]) is not None]


def hue_distance(first: int, second: int) -> int:
    difference = abs(first - second) % 360
    return min(difference, 360 - difference)


def window_hues(*, hue: int, margin: int) -> list[int]:
    if margin >= 180:
        return list(range(360))
    return [(hue + offset) % 360 for offset in range(-margin, margin + 1)]


def match_score(*, hue: int, margin: int, colors: Iterable[tuple[int | None, float]]) -> float | None:
    """How well colours (hue, share) match: the best share, counted down to half at the window's edge; None if none match."""
    min_share = settings.SCROLLER_MIN_MATCH_SHARE
    best = None
    for color_hue, share in colors:
        if color_hue is None or share < min_share:
            continue
        distance = hue_distance(color_hue, hue)
        if distance > margin:
            continue
        score = share * (1 - distance / (2 * margin)) if margin else share
        best = score if best is None else max(best, score)
    return best


def start_stream(*, hue: int, sent: RecentIds | None = None, rng: random.Random | None = None) -> HueStream:
    """A fresh stream at `hue`; `sent` carries over what the client was already shown."""
    rng = rng or random.Random()
    stream = HueStream(hue=hue, margin=settings.SCROLLER_HUE_MARGIN, walk=_new_walk(rng, density=None), rng=rng)
    if sent is not None:
        stream.sent = sent
    return stream


def next_batch(stream: HueStream, *, viewer: Viewer, size: int, may_walk: bool = True) -> list[StreamedImage]:
    """Up to `size` images, best match first, loaded for sending.

    A batch never spans two cycles, so it may come short at the end of one; it is
    empty only when nothing matches even at the widest margin. With may_walk False
    (a read-ahead is in flight) the batch comes from the lookahead alone, and is
    empty if every candidate there was deleted meanwhile: walk, then ask again.
    """
    while True:
        if may_walk:
            if stream.walk.phase == WALK_DONE and not stream.lookahead and stream.shown_in_cycle:
                _start_cycle(stream)
            _refill(stream, viewer=viewer, size=size)
        stream.lookahead.sort(key=_BY_RANK, reverse=True)
        chosen, stream.lookahead = stream.lookahead[:size], stream.lookahead[size:]
        if chosen:
            images = load_images(image_ids=[candidate.image_id for candidate in chosen], viewer=viewer)
            if images:
                stream.shown_in_cycle += len(images)
                for streamed in images:
                    stream.sent.add(streamed.card.id)
                return images
            continue
        if not may_walk:
            return []
        if stream.shown_in_cycle:
            # The cycle's pool was not empty, only used up (by images pushed live, say): the next cycle repeats it.
            continue
        if not _widen(stream):
            # Nothing matches at all. The next request looks again from scratch, and meanwhile
            # images arriving live match at the configured margin, not at the widest one tried.
            _narrow(stream)
            return []


@dataclass
class ReadAhead:
    """Candidates read ahead from a copy of a stream's walk, and where that copy got to."""

    walk: Walk
    advanced: Walk
    candidates: list[Candidate]


def needs_read_ahead(stream: HueStream) -> bool:
    """Whether the next batches would have to walk first."""
    return stream.walk.phase != WALK_DONE and len(stream.lookahead) < NEXT_BATCH_SIZE + LOOKAHEAD_LOW


def can_serve(stream: HueStream, *, size: int) -> bool:
    """Whether a batch of `size` can come from the lookahead alone."""
    return len(stream.lookahead) >= size


def read_ahead(stream: HueStream, *, viewer: Viewer) -> ReadAhead:
    """Walk a copy of the stream's walk on for the next batches, leaving the stream itself alone.

    Batches may meanwhile be served from the lookahead (next_batch with may_walk
    False); apply_read_ahead then adds what was read.
    """
    advanced = replace(stream.walk)
    high = round(LOOKAHEAD_HIGH * stream.rng.uniform(1 - LOOKAHEAD_JITTER, 1 + LOOKAHEAD_JITTER))
    target = NEXT_BATCH_SIZE + high - len(stream.lookahead)
    candidates: list[Candidate] = []
    while len(candidates) < target and advanced.phase != WALK_DONE:
        candidates += _walk(stream, advanced, viewer=viewer, count=target - len(candidates))
    return ReadAhead(walk=stream.walk, advanced=advanced, candidates=candidates)


def apply_read_ahead(stream: HueStream, result: ReadAhead) -> None:
    """Take a read-ahead into the stream, unless the stream walked on, restarted or widened since it began."""
    if stream.walk is not result.walk:
        return
    stream.walk = result.advanced
    stream.lookahead += [candidate for candidate in result.candidates if candidate.image_id not in stream.pushed]


def _new_walk(rng: random.Random, *, density: float | None) -> Walk:
    return Walk(start=rng.randrange(KEY_SPACE), descending=rng.random() < 0.5, density=density)


def _restart_walk(stream: HueStream) -> None:
    stream.walk = _new_walk(stream.rng, density=stream.walk.density)
    stream.lookahead = []


def _start_cycle(stream: HueStream) -> None:
    stream.cycle += 1
    stream.shown_in_cycle = 0
    stream.pushed.clear()
    # A margin widened for an empty pool must not stay wide once closer images may exist.
    _narrow(stream)


def _narrow(stream: HueStream) -> None:
    stream.margin = settings.SCROLLER_HUE_MARGIN
    stream.widened = False
    _restart_walk(stream)


def _widen(stream: HueStream) -> bool:
    wider = [margin for margin in WIDER_MARGINS if margin > stream.margin]
    if not wider:
        return False
    stream.margin = wider[0]
    stream.widened = True
    _restart_walk(stream)
    return True


def _phase_range(walk: Walk) -> tuple[int, int]:
    """The half-open key range of the current phase, narrowed past the cursor."""
    before_start = (0, walk.start)
    from_start = (walk.start, KEY_SPACE)
    low, high = (
        (before_start if walk.phase == 0 else from_start)
        if walk.descending
        else (from_start if walk.phase == 0 else before_start)
    )
    if walk.cursor is not None:
        if walk.descending:
            high = min(high, walk.cursor)
        else:
            low = max(low, walk.cursor + 1)
    return low, high


def _refill(stream: HueStream, *, viewer: Viewer, size: int) -> None:
    if len(stream.lookahead) >= size + LOOKAHEAD_LOW:
        return
    # A new Walk, not the old one moved on, so that apply_read_ahead sees that the stream walked.
    walk = replace(stream.walk)
    # Only what this batch needs to be chosen well; reading ahead fills up to LOOKAHEAD_HIGH.
    target = size + LOOKAHEAD_LOW
    while len(stream.lookahead) < target and walk.phase != WALK_DONE:
        stream.lookahead.extend(_walk(stream, walk, viewer=viewer, count=target - len(stream.lookahead)))
    stream.walk = walk


def _walk(stream: HueStream, walk: Walk, *, viewer: Viewer, count: int) -> list[Candidate]:
    """Read the next stretch of the key space for `stream`; returns up to `count` scored candidates and moves `walk` past them."""
    low, high = _phase_range(walk)
    if low >= high:
        _next_phase(walk)
        return []
    span = _span(walk, count=count)
    start, end = (max(low, high - span), high) if walk.descending else (low, min(high, low + span))
    # A single key is read whole, however many colours share it.
    capped = end - start > 1
    rows = _read_stretch(
        hues=window_hues(hue=stream.hue, margin=stream.margin), start=start, end=end, viewer=viewer, capped=capped
    )
    if capped and len(rows) > READ_CAP:
        # Far denser than estimated: read a stretch an eighth as wide instead.
        walk.density = count * SPAN_HEADROOM * 8 / (end - start)
        return []
    by_key: dict[int, dict[int, list[tuple[int, float]]]] = {}
    for image_id, hue, shuffle, share in rows:
        by_key.setdefault(shuffle, {}).setdefault(image_id, []).append((hue, share))
    keys = sorted(by_key, reverse=walk.descending)
    taken = keys[:count]
    if len(keys) > count:
        walk.cursor = taken[-1]
        covered = (end - taken[-1]) if walk.descending else (taken[-1] - start + 1)
    else:
        covered = end - start
        if (start == low) if walk.descending else (end == high):
            _next_phase(walk)
        else:
            walk.cursor = start if walk.descending else end - 1
    _learn_density(walk, found=len(taken), covered=covered)
    return [
        Candidate(image_id=image_id, rank=_rank(stream, colors=colors))
        for key in taken
        for image_id, colors in by_key[key].items()
        if image_id not in stream.pushed
    ]


def _span(walk: Walk, *, count: int) -> int:
    if walk.density is None:
        return INITIAL_SPAN
    return max(MIN_SPAN, min(KEY_SPACE, int(count * SPAN_HEADROOM / walk.density)))


def _learn_density(walk: Walk, *, found: int, covered: int) -> None:
    """Matching keys per unit of key space, smoothed; an empty stretch counts as a quarter key so the next one grows fast."""
    observed = max(found, 0.25) / max(covered, 1)
    walk.density = observed if walk.density is None else (walk.density + observed) / 2


def _rank(stream: HueStream, *, colors: list[tuple[int, float]]) -> float:
    score = match_score(hue=stream.hue, margin=stream.margin, colors=colors) or 0.0
    return score * stream.rng.uniform(1 - SCORE_JITTER, 1)


def _next_phase(walk: Walk) -> None:
    walk.phase += 1
    walk.cursor = None


def _read_stretch(*, hues: list[int], start: int, end: int, viewer: Viewer, capped: bool) -> list[tuple]:
    """(image_id, hue, shuffle, share) of the matching colours with keys in [start, end) of alive images the viewer may see.

    One range scan of the color_hue_stream index per hue in the window, each row joined
    to its image's entry in image_stream_filter; at most READ_CAP + 1 rows if `capped`.
    """
    visible_sql, visible_params = ViewerScope.of(viewer).sql(alias="i")
    sql = _stretch_sql(connection.vendor).format(
        hues=placeholders(len(hues)), visible=visible_sql, limit=" LIMIT %s" if capped else ""
    )
    params = [
        *hues,
        start,
        end,
        settings.SCROLLER_MIN_MATCH_SHARE,
        *visible_params,
        *([READ_CAP + 1] if capped else []),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _stretch_sql(vendor: str) -> str:
    """The query of _read_stretch, with {hues}, {visible} and {limit} to fill in; `vendor` keys the cache, as quoting differs."""
    quote = connection.ops.quote_name
    # MariaDB picks the primary key for the join even though image_stream_filter covers it, and
    # on a catalogue of a million images that costs the database twice the time per walk.
    force_filter_index = " FORCE INDEX (image_stream_filter)" if vendor == "mysql" else ""
    return (
        f"SELECT c.image_id, c.hue, c.shuffle, c.share FROM {quote(DominantColor._meta.db_table)} c "
        f"INNER JOIN {quote(Image._meta.db_table)} i{force_filter_index} ON i.id = c.image_id "
        "WHERE c.hue IN ({hues}) AND c.shuffle >= %s AND c.shuffle < %s AND c.share >= %s AND i.deleted_at IS NULL{visible}{limit}"
    )
