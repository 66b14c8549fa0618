import hashlib
import itertools
from functools import cache

import pytest
from django.utils import timezone
from PIL import Image as PILImage

from gallery import services
from gallery.analysis import ImageAnalysis
from gallery.bulk_insert import insert_rows
from gallery.colors import DominantColor as AnalysedColor
from gallery.models import DominantColor, Image
from gallery.mosaic.tiles import mosaic_tile
from gallery.search.services import reindex_images
from gallery.services import NewImage
from gallery.similar.phash import perceptual_hash
from gallery.thumbnails import encode_thumbnail
from tests.gallery.labelled import BLUE, labels

_serial = itertools.count()


def thumbnail_picture(hue: int | None) -> PILImage.Image:
    """A small picture in the image's colour, grey for monochrome."""
    color = "hsv(0, 0%, 50%)" if hue is None else f"hsv({hue}, 80%, 80%)"
    return PILImage.new("RGB", (16, 12), color)


@cache
def thumbnail_bytes(hue: int | None) -> bytes:
    """A real stored thumbnail (xz-wrapped JPEG) in the image's colour."""
    return encode_thumbnail(thumbnail_picture(hue))


@cache
def thumbnail_derivatives(hue: int | None) -> dict:
    """The mosaic tile and perceptual hash an upload of the thumbnail's picture would get."""
    picture = thumbnail_picture(hue)
    return {"tile": mosaic_tile(picture), "perceptual_hash": perceptual_hash(picture)}


def saturation_of(hue: int | None) -> float:
    return 0.0 if hue is None else 0.8


@pytest.fixture
def make_image(user):
    """Stores an image row with the given dominant colours [(hue or None, share), ...], without analysing a file.

    The rows come from the service's own builders, given the analysis an upload of those colours would have.
    """

    def make(*, colors=((0, 0.6),), owner=None, visibility="public", shuffle=None, deleted=False) -> Image:
        owner = owner or user
        sha256 = hashlib.sha256(f"stream-test-{next(_serial)}".encode()).hexdigest()
        hues = [hue for hue, _ in colors if hue is not None]
        analysis = ImageAnalysis(
            sha256=sha256,
            format="PNG",
            width=640,
            height=480,
            thumbnail=thumbnail_bytes(hues[0] if hues else None),
            thumbnail_width=16,
            thumbnail_height=12,
            **thumbnail_derivatives(hues[0] if hues else None),
            colors=tuple(
                AnalysedColor(hue=hue, saturation=saturation_of(hue), value=0.8, share=share) for hue, share in colors
            ),
        )
        new_image = NewImage(original_name=f"{sha256[:8]}.png", data=bytes(4096), analysis=analysis)
        image = services.image_row(
            owner=owner, new_image=new_image, path=f"originals/{owner.pk}/{sha256}.png", visibility=visibility
        )
        image.deleted_at = timezone.now() if deleted else None
        image.save()
        rows = services.color_values(image_id=image.pk, colors=analysis.colors, shuffle=shuffle)
        insert_rows(model=DominantColor, fields=services.COLOR_FIELDS, rows=rows)
        return image

    return make


@pytest.fixture
def make_found(make_image):
    """An image (see make_image) with labels [(label, probability)], a description and a file name, indexed for search."""

    def make(*, labelled=(), description: str = "", name: str | None = None, colors=(BLUE,), **options) -> Image:
        image = make_image(colors=colors, **options)
        image.labels = labels(*labelled) if labelled else None
        image.description = description
        if name is not None:
            image.original_name = name
        image.save(update_fields=["labels", "description", "original_name"])
        reindex_images(image_ids=[image.pk])
        return image

    return make
