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
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field, Model

from accounts.users import Viewer
from gallery.image_cache import StoredParts, stored_parts_cache
from gallery.models import DominantColor, Image, Visibility
from gallery.serializers import ImageCard, ImageFacts, palette_colors

KEY_SPACE = 2**32
FIRST_BATCH_SIZE = 20
NEXT_BATCH_SIZE = 10
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
# A client will not hold more thumbnails than this; older ids are forgotten first.
SENT_MEMORY = 5000
PUSHED_MEMORY = 2000
WALK_DONE = 2
# Each read covers a stretch of the key space sized to hold the keys it needs, from the density seen so far.
INITIAL_SPAN = 2**22
MIN_SPAN = 1
SPAN_HEADROOM = 2
READ_CAP = 2000


class RecentIds:
    """An insertion-ordered set of ids that forgets the oldest beyond `limit`."""

    def __init__(self, *, limit: int) -> None:
        self._ids: dict[int, None] = {}
        self._limit = limit

    def add(self, image_id: int) -> None:
        self._ids.pop(image_id, None)
        self._ids[image_id] = None
        if len(self._ids) > self._limit:
            del self._ids[next(iter(self._ids))]

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._ids

    def clear(self) -> None:
        self._ids.clear()


@dataclass(frozen=True, slots=True)
class StreamedImage:
    """An image as the websocket sends it: its card for the JSON metadata and its stored thumbnail."""

    card: ImageCard
    thumbnail: bytes


class Candidate(NamedTuple):
    """An image the walk found, waiting in the lookahead.

    A tuple of atomic values, which Python's garbage collector stops tracking: a thousand
    streams hold tens of thousands of these, and as tracked objects they made every full
    collection pause the server for a quarter of a second.
    """

    image_id: int
    rank: float


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


def may_see(*, viewer: Viewer, owner_id: int, visibility: str) -> bool:
    if visibility == Visibility.PUBLIC:
        return True
    return bool(viewer is not None and viewer.is_authenticated and (viewer.is_staff or viewer.pk == owner_id))


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
        stream.lookahead.sort(key=lambda candidate: candidate.rank, reverse=True)
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
        if not _widen(stream):
            # Nothing matches at all; the next request looks again from scratch.
            _restart_walk(stream)
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


def load_images(*, image_ids: list[int], viewer: Viewer) -> list[StreamedImage]:
    """The alive, visible ones among `image_ids`, in that order, with their cards and thumbnails.

    A plain SQL query reads straight into ImageCards, without model instances (four times cheaper
    in CPU than select_related + prefetch_related, and CPU is what bounds how many batches a
    server process sends per second). Whether an image is alive and visible, and whose it is,
    always comes from the database; its thumbnail only when the process's StoredPartsCache
    does not hold it yet. One query.
    """
    if not image_ids:
        return []
    cache = stored_parts_cache()
    stored = cache.get_many(image_ids)
    missing = [image_id for image_id in image_ids if image_id not in stored]
    visible_sql, visible_params = _visibility_sql(viewer)
    # Thumbnails travel only for the images the cache lacks.
    thumbnail_sql = f"CASE WHEN i.id IN ({_placeholders(len(missing))}) THEN i.thumbnail END" if missing else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            _load_sql(connection.vendor).format(
                thumbnail=thumbnail_sql, ids=_placeholders(len(image_ids)), visible=visible_sql
            ),
            [*missing, *image_ids, *visible_params],
        )
        rows = {row[0]: row for row in cursor.fetchall()}
    fetched = {image_id: _stored_parts(rows[image_id]) for image_id in missing if image_id in rows}
    cache.put_many(fetched)
    stored |= fetched
    return [
        StreamedImage(card=_card(rows[image_id], stored=stored[image_id]), thumbnail=stored[image_id].thumbnail)
        for image_id in image_ids
        if image_id in rows
    ]


def _stored_parts(row: tuple) -> StoredParts:
    _, _, _, _, original_name, width, height, thumbnail_width, thumbnail_height, is_monochrome, palette, thumbnail = row
    facts = ImageFacts(
        original_name=original_name,
        width=width,
        height=height,
        thumbnail_width=thumbnail_width,
        thumbnail_height=thumbnail_height,
        is_monochrome=bool(is_monochrome),
        colors=palette_colors(json.loads(palette)),
    )
    return StoredParts(facts=facts, thumbnail=bytes(thumbnail))


def _card(row: tuple, *, stored: StoredParts) -> ImageCard:
    image_id, owner_id, owner_name, visibility, *_ = row
    return ImageCard(id=image_id, owner_id=owner_id, owner_name=owner_name, visibility=visibility, facts=stored.facts)


@functools.cache
def _load_sql(vendor: str) -> str:
    """The query of load_images, with {thumbnail}, {ids} and {visible} to fill in; `vendor` keys the cache, as quoting differs."""
    quote = connection.ops.quote_name
    user_model = get_user_model()
    username = _column(user_model, user_model.USERNAME_FIELD)
    user_id = _column(user_model, user_model._meta.pk.name)
    columns = ", ".join(
        [
            *(f"i.{quote(column)}" for column in ("id", "owner_id")),
            f"u.{quote(username)}",
            *(
                f"i.{quote(column)}"
                for column in (
                    "visibility",
                    "original_name",
                    "width",
                    "height",
                    "thumbnail_width",
                    "thumbnail_height",
                    "is_monochrome",
                    "palette",
                )
            ),
        ]
    )
    return (
        f"SELECT {columns}, {{thumbnail}} FROM {quote(Image._meta.db_table)} i "
        f"INNER JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_id)} = i.{quote('owner_id')} "
        "WHERE i.id IN ({ids}) AND i.deleted_at IS NULL{visible}"
    )


def _column(model: type[Model], field_name: str) -> str:
    field = model._meta.get_field(field_name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{field_name} is not stored in a column of its own")
    return field.column


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def announced_matches(
    stream: HueStream, *, viewer: Viewer, announced: list[dict], published: bool = False
) -> list[int]:
    """Ids of announced images (gallery.events format) this stream's client should receive live.

    Images just made public (`published`) go only to viewers who could not see them before.
    """
    return [
        item["id"]
        for item in announced
        if may_see(viewer=viewer, owner_id=item["owner_id"], visibility=item["visibility"])
        and not (published and may_see(viewer=viewer, owner_id=item["owner_id"], visibility=Visibility.PRIVATE))
        and match_score(hue=stream.hue, margin=stream.margin, colors=item["colors"]) is not None
    ]


def hidden_from(stream: HueStream, *, viewer: Viewer, hidden: list[dict]) -> list[int]:
    """Ids of images just made private (gallery.events format) that this stream's client was sent and may no longer see."""
    return [
        item["id"]
        for item in hidden
        if item["id"] in stream.sent
        and not may_see(viewer=viewer, owner_id=item["owner_id"], visibility=Visibility.PRIVATE)
    ]


def take_added(stream: HueStream, *, viewer: Viewer, image_ids: list[int]) -> list[StreamedImage]:
    """Load live-announced images and keep the walk from handing them out again this cycle."""
    images = load_images(image_ids=image_ids, viewer=viewer)
    pushed = {streamed.card.id for streamed in images}
    for image_id in pushed:
        stream.pushed.add(image_id)
        stream.sent.add(image_id)
    stream.lookahead = [candidate for candidate in stream.lookahead if candidate.image_id not in pushed]
    return images


def sent_among(stream: HueStream, *, image_ids: Iterable[int]) -> list[int]:
    return [image_id for image_id in image_ids if image_id in stream.sent]


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
    visible_sql, visible_params = _visibility_sql(viewer)
    sql = _stretch_sql(connection.vendor).format(
        hues=_placeholders(len(hues)), visible=visible_sql, limit=" LIMIT %s" if capped else ""
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


def _visibility_sql(viewer: Viewer) -> tuple[str, list]:
    """The SQL twin of Image.objects.visible_to (and of may_see), for the image table aliased i."""
    if viewer is not None and viewer.is_authenticated and viewer.is_staff:
        return "", []
    if viewer is not None and viewer.is_authenticated:
        return " AND (i.visibility = %s OR i.owner_id = %s)", [Visibility.PUBLIC, viewer.pk]
    return " AND i.visibility = %s", [Visibility.PUBLIC]
