import hashlib
import itertools
import secrets
from functools import cache

import pytest
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import DominantColor, Image
from gallery.search.services import reindex_images
from gallery.thumbnails import encode_thumbnail
from tests.gallery.labelled import BLUE, labels

_serial = itertools.count()


@cache
def thumbnail_bytes(hue: int | None) -> bytes:
    """A real stored thumbnail (xz-wrapped JPEG) in the image's colour, grey for monochrome."""
    colour = "hsv(0, 0%, 50%)" if hue is None else f"hsv({hue}, 80%, 80%)"
    return encode_thumbnail(PILImage.new("RGB", (16, 12), colour))


def saturation_of(hue: int | None) -> float:
    return 0.0 if hue is None else 0.8


@pytest.fixture
def make_image(user):
    """Stores an image row with the given dominant colours [(hue or None, share), ...] directly, without analysis."""

    def make(*, colors=((0, 0.6),), owner=None, visibility="public", shuffle=None, deleted=False) -> Image:
        owner = owner or user
        sha256 = hashlib.sha256(f"stream-test-{next(_serial)}".encode()).hexdigest()
        hues = [hue for hue, _ in colors if hue is not None]
        image = Image.objects.create(
            owner=owner,
            original_name=f"{sha256[:8]}.png",
            sha256=sha256,
            width=640,
            height=480,
            format="PNG",
            byte_size=4096,
            original=f"originals/{owner.pk}/{sha256}.png",
            thumbnail=thumbnail_bytes(hues[0] if hues else None),
            thumbnail_width=16,
            thumbnail_height=12,
            is_monochrome=not hues,
            palette=[[hue, saturation_of(hue), 0.8, share] for hue, share in colors],
            visibility=visibility,
            deleted_at=timezone.now() if deleted else None,
        )
        key = secrets.randbits(32) if shuffle is None else shuffle
        DominantColor.objects.bulk_create(
            DominantColor(
                image=image, rank=rank, hue=hue, saturation=saturation_of(hue), value=0.8, share=share, shuffle=key
            )
            for rank, (hue, share) in enumerate(colors)
        )
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
