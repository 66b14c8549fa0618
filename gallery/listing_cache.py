"""Images as the API lists them, read through a per-process cache that is checked against each image's index entry.

A page of search results is up to 50 images from anywhere in the library, and reading their rows
costs a disk read each once the image table (which holds the thumbnails) outgrows the database's
buffer pool: at 100,000 images about 10 ms of a 15 ms search. What can change in a stored image's
listing is in its small `image_stream_filter` index entry: deletion, visibility, owner, and
`terms_changed_at`, which every write of what the search terms come from stamps (labels,
description, file name, palette and monochrome flag; nothing else in a row changes after upload).
So a page reads those entries, with the owners' names, which is also where it checks that the
viewer may see each image, and reads whole rows only for the images this process does not hold as
they are now. Entries are dropped least recently used first beyond SCROLLER_LISTING_CACHE_ENTRIES.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.users import Viewer
from gallery.lru import SharedLru
from gallery.models import Image, ViewerScope
from gallery.realtime.stream import placeholders
from gallery.serializers import ImageCard, detail_fields, image_card


@dataclass(frozen=True, slots=True)
class ListedImage:
    card: ImageCard
    detail: dict  # image_to_dict's detail fields
    # What the card and detail were made from that can change: owner id and name, visibility, deletion, terms_changed_at.
    version: tuple


# The condition of `visible_versions` that leaves deleted images out.
ALIVE_CONDITION = " AND i.deleted_at IS NULL"

_cache: SharedLru[int, ListedImage] = SharedLru(max_size=settings.SCROLLER_LISTING_CACHE_ENTRIES)


def forget_listed_images() -> None:
    """Tests: the next test's database gives ids anew."""
    _cache.clear()


def listed_images(*, viewer: Viewer, image_ids: list[int], include_deleted: bool = False) -> dict[int, ListedImage]:
    """The alive ones (or all, `include_deleted`) among these images that the viewer may see, by id."""
    visible_sql, params = ViewerScope.of(viewer).sql(alias="i")
    alive_sql = "" if include_deleted else ALIVE_CONDITION
    versions = visible_versions(image_ids=image_ids, conditions=alive_sql + visible_sql, params=params)
    return listed_images_at(viewer=viewer, versions=versions, include_deleted=include_deleted)


def listed_images_at(
    *, viewer: Viewer, versions: dict[int, tuple], include_deleted: bool = False
) -> dict[int, ListedImage]:
    """These images, which `visible_versions` found the viewer may see a moment ago, as they were then, by id."""
    cached = _cache.get_many(list(versions))
    stale = [
        image_id for image_id, version in versions.items() if getattr(cached.get(image_id), "version", None) != version
    ]
    if stale:
        images = Image.objects.visible_to(viewer)
        read = {
            # The version read above: a row that changed since is read again next time, never kept as current.
            image.pk: ListedImage(card=image_card(image), detail=detail_fields(image), version=versions[image.pk])
            for image in (images if include_deleted else images.alive())
            .filter(pk__in=stale)
            .select_related("owner")
            .defer("thumbnail", "mosaic_tile")
        }
        _cache.put_many(read)
        cached |= read
    return {image_id: cached[image_id] for image_id in versions if image_id in cached}


def visible_versions(*, image_ids: list[int], conditions: str, params: list) -> dict[int, tuple]:
    """Each of these images that meets `conditions` (SQL on the image `i`, each starting with AND), with its version.

    One read of the images' `image_stream_filter` entries, so that a search can check its
    candidates and learn their versions in the same round trip.
    """
    if not image_ids:
        return {}
    force_index = " FORCE INDEX (image_stream_filter)" if connection.vendor == "mysql" else ""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.id, i.owner_id, u.{quote(get_user_model().USERNAME_FIELD)}, i.visibility, i.deleted_at, "
            f"i.terms_changed_at FROM {quote(Image._meta.db_table)} i{force_index} "
            f"INNER JOIN {quote(get_user_model()._meta.db_table)} u ON u.id = i.owner_id "
            f"WHERE i.id IN ({placeholders(len(image_ids))}){conditions}",
            [*image_ids, *params],
        )
        rows = cursor.fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}
