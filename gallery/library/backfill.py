"""Giving images stored before mosaics and near-duplicates their tile and perceptual hash (`manage.py fill_tiles`)."""

from collections.abc import Iterator

from django.db.models import Q

from gallery.analysis import tile_sample
from gallery.models import Image
from gallery.mosaic.tiles import mosaic_tile
from gallery.similar.phash import perceptual_hash
from gallery.thumbnails import decode_thumbnail

_MISSING = Q(mosaic_l__isnull=True) | Q(perceptual_hash__isnull=True)
_FIELDS = ["mosaic_tile", "mosaic_l", "mosaic_a", "mosaic_b", "perceptual_hash"]


def images_missing_tiles() -> int:
    return Image.objects.filter(_MISSING).count()


def fill_missing_tiles(*, batch_size: int) -> Iterator[int]:
    """Fill batch after batch, in id order, and say how many each time; deleted images too, so a restore has them.

    Made from the stored thumbnail, as ingest makes them from the same pixels before encoding it.
    """
    after = 0
    while batch := list(
        Image.objects.filter(_MISSING, pk__gt=after).order_by("pk").only("pk", "thumbnail")[:batch_size]
    ):
        for image in batch:
            _fill(image)
        Image.objects.bulk_update(batch, _FIELDS)
        after = batch[-1].pk
        yield len(batch)


def _fill(image: Image) -> None:
    thumbnail = decode_thumbnail(bytes(image.thumbnail)).convert("RGB")
    tile = mosaic_tile(tile_sample(thumbnail))
    image.mosaic_tile = tile.pixels
    image.mosaic_l, image.mosaic_a, image.mosaic_b = tile.lab
    image.perceptual_hash = perceptual_hash(thumbnail)
