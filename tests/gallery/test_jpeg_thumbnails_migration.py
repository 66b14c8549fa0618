import importlib
import io
import lzma

import pytest
from django.apps import apps
from PIL import Image as PillowImage

from gallery.models import Image
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db

migration = importlib.import_module("gallery.migrations.0002_jpeg_thumbnails")


def webp_thumbnail(*, color: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    webp = io.BytesIO()
    PillowImage.new("RGB", size, color).save(webp, format="WEBP", quality=76, method=0)
    return lzma.compress(webp.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)


def unpacked_thumbnail(image: Image) -> PillowImage.Image:
    image.refresh_from_db()
    return PillowImage.open(io.BytesIO(lzma.decompress(bytes(image.thumbnail))))


def test_webp_thumbnails_become_jpeg_of_the_same_size_and_color(user):
    image = store_image(owner=user, color=(200, 40, 40))
    Image.objects.filter(pk=image.pk).update(
        thumbnail=webp_thumbnail(color=(200, 40, 40), size=(image.thumbnail_width, image.thumbnail_height))
    )

    migration.reencode_webp_thumbnails(apps, None)

    thumbnail = unpacked_thumbnail(image)
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (image.thumbnail_width, image.thumbnail_height)
    pixel = thumbnail.convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    # Two lossy encodings in a row, WebP then JPEG.
    assert abs(red - 200) <= 10 and abs(green - 40) <= 10 and abs(blue - 40) <= 10


def test_jpeg_thumbnails_are_left_as_they_are(user):
    image = store_image(owner=user, color=(0, 0, 255))
    before = bytes(image.thumbnail)

    migration.reencode_webp_thumbnails(apps, None)

    image.refresh_from_db()
    assert bytes(image.thumbnail) == before
