"""The Stream interface the scroller consumer serves, and what all kinds of stream share.

A stream decides which images one connection is shown next (the hue stream in
gallery.realtime.hue_stream, the search stream in gallery.search.stream). The consumer knows only
this interface: it asks for batches, lets the stream read ahead in another thread while
the client looks at a batch, and asks whether a live event matches. What is the same for
every kind lives here: loading images for sending (alive and visible, with their cards and
thumbnails), remembering what the client was sent, and who may see a live event.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field, Model
from django.urls import get_script_prefix

from accounts.users import Viewer
from gallery.image_cache import StoredParts, stored_parts_cache
from gallery.models import Image, ViewerScope, Visibility
from gallery.permissions import can_modify_images_of
from gallery.serializers import CardJson, ImageCard, ImageFacts, palette_colors

FIRST_BATCH_SIZE = 20
NEXT_BATCH_SIZE = 10
# A client will not hold more thumbnails than this; older ids are forgotten first.
SENT_MEMORY = 5000
PUSHED_MEMORY = 2000


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
    """An image as the websocket sends it: its card, the card's JSON as this viewer is sent it, and its stored thumbnail."""

    card: ImageCard
    meta: str
    thumbnail: bytes


class Stream(Protocol):
    """One connection's stream of images: the consumer serves any kind through these methods alone.

    Rules every kind keeps: within a cycle no image is handed out twice; a batch never spans
    two cycles; an empty batch means nothing matches at all.
    """

    # Whether matching reads the search index: the consumer then runs matching_live in a database
    # thread, and asks it again when an image's index changes (its labels or description landed).
    matches_by_index: ClassVar[bool]
    sent: RecentIds

    def describe(self) -> dict[str, Any]:
        """What a batch message says about the stream besides its images (hue and margin, or the query, and the cycle)."""
        ...

    def next_batch(self, *, viewer: Viewer, size: int, may_walk: bool = True) -> list[StreamedImage]:
        """Up to `size` images, best first, loaded for sending. With may_walk False (a read-ahead is in flight)
        only from what the stream holds, and empty if all of that was deleted meanwhile."""
        ...

    def can_serve(self, *, size: int) -> bool:
        """Whether a batch of `size` can come from what the stream already holds, without reading."""
        ...

    def needs_read_ahead(self) -> bool:
        """Whether the next batches would have to read first."""
        ...

    def read_ahead(self, *, viewer: Viewer) -> object:
        """Read on for the next batches without changing the stream (it runs while batches are served)."""
        ...

    def apply_read_ahead(self, result: object) -> None:
        """Take a read-ahead in, unless the stream moved on since it began."""
        ...

    def matching_live(self, *, announced: list[dict]) -> list[int]:
        """Ids among announced images (gallery.realtime.events format) that match this stream; visibility is checked by the caller."""
        ...

    def mark_pushed(self, *, image_ids: set[int]) -> None:
        """These were just sent live: do not hand them out again this cycle."""
        ...


def visible_announced(*, viewer: Viewer, announced: list[dict], published: bool = False) -> list[dict]:
    """The announced images (gallery.realtime.events format) this viewer may see and should hear of.

    Images just made public (`published`) go only to viewers who could not see them before.
    """
    scope = ViewerScope.of(viewer)
    return [
        item
        for item in announced
        if scope.allows(owner_id=item["owner_id"], visibility=item["visibility"])
        and not (published and scope.allows(owner_id=item["owner_id"], visibility=Visibility.PRIVATE))
    ]


def hidden_from(stream: Stream, *, viewer: Viewer, hidden: list[dict]) -> list[int]:
    """Ids of images just made private (gallery.realtime.events format) that this stream's client was sent and may no longer see."""
    scope = ViewerScope.of(viewer)
    return [
        item["id"]
        for item in hidden
        if item["id"] in stream.sent and not scope.allows(owner_id=item["owner_id"], visibility=Visibility.PRIVATE)
    ]


def sent_among(stream: Stream, *, image_ids: list[int]) -> list[int]:
    return [image_id for image_id in image_ids if image_id in stream.sent]


def take_added(stream: Stream, *, viewer: Viewer, image_ids: list[int]) -> list[StreamedImage]:
    """Load live-announced images and keep the stream from handing them out again this cycle."""
    images = load_images(image_ids=image_ids, viewer=viewer)
    pushed = {streamed.card.id for streamed in images}
    stream.mark_pushed(image_ids=pushed)
    for image_id in pushed:
        stream.sent.add(image_id)
    return images


def load_images(*, image_ids: list[int], viewer: Viewer) -> list[StreamedImage]:
    """The alive, visible ones among `image_ids`, in that order, with their cards, JSON and thumbnails.

    One plain SQL query, straight into tuples (four times cheaper in CPU than select_related +
    prefetch_related, and CPU is what bounds how many batches a server process sends per
    second). Whether an image is alive and visible, whose it is, and everything else that can
    change about it always comes from the database; its thumbnail only when the process's
    StoredPartsCache does not hold it yet, and its card and JSON are made again only when
    the row differs from the one the cached ones were made from.
    """
    if not image_ids:
        return []
    cache = stored_parts_cache()
    stored = cache.get_many(image_ids)
    missing = [image_id for image_id in image_ids if image_id not in stored]
    visible_sql, visible_params = ViewerScope.of(viewer).sql(alias="i")
    # Thumbnails travel only for the images the cache lacks.
    thumbnail_sql = f"CASE WHEN i.id IN ({placeholders(len(missing))}) THEN i.thumbnail END" if missing else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            _load_sql(connection.vendor).format(
                thumbnail=thumbnail_sql, ids=placeholders(len(image_ids)), visible=visible_sql
            ),
            [*missing, *image_ids, *visible_params],
        )
        rows = {row[0]: row for row in cursor.fetchall()}
    script_prefix = get_script_prefix()
    may_modify = can_modify_images_of(user=viewer)
    made: dict[int, StoredParts] = {}
    images = []
    for image_id in image_ids:
        if (row := rows.get(image_id)) is None:
            continue
        source = (*row[1:-1], script_prefix)
        if (parts := stored.get(image_id)) is None or parts.source != source:
            thumbnail = bytes(row[-1]) if parts is None else parts.thumbnail
            parts = made[image_id] = _stored_parts(row, source=source, thumbnail=thumbnail)
        card = parts.card
        images.append(
            StreamedImage(
                card=card, meta=parts.json.text(can_delete=may_modify(card.owner_id)), thumbnail=parts.thumbnail
            )
        )
    if made:
        cache.put_many(made)
    return images


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _stored_parts(row: tuple, *, source: tuple, thumbnail: bytes) -> StoredParts:
    (
        image_id,
        owner_id,
        owner_name,
        visibility,
        labels,
        description,
        original_name,
        width,
        height,
        thumbnail_width,
        thumbnail_height,
        is_monochrome,
        palette,
        _,
    ) = row
    card = ImageCard(
        id=image_id,
        owner_id=owner_id,
        owner_name=owner_name,
        visibility=visibility,
        facts=ImageFacts(
            original_name=original_name,
            width=width,
            height=height,
            thumbnail_width=thumbnail_width,
            thumbnail_height=thumbnail_height,
            is_monochrome=bool(is_monochrome),
            colors=palette_colors(json.loads(palette)),
        ),
        labels=json.loads(labels) if labels is not None else None,
        description=description,
    )
    return StoredParts(thumbnail=thumbnail, card=card, json=CardJson.of(card), source=source)


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
                    "labels",
                    "description",
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
