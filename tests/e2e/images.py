"""Real image files for the browser tests: solid colours with a known hue, made with Pillow."""

import colorsys
import io
import itertools
from concurrent.futures import ThreadPoolExecutor

from PIL import Image as PILImage

from django.db import connection

from gallery import ingest
from gallery.models import Image

# Each stored image gets a size of its own, so its bytes (and so its content hash) differ from every other one.
_serial = itertools.count()


def solid_colour(hue: int) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue / 360, 1.0, 1.0)
    return round(red * 255), round(green * 255), round(blue * 255)


def image_bytes(*, hue: int, size: tuple[int, int] = (64, 48), image_format: str = "PNG") -> bytes:
    """A solid image of `hue`; a different size gives different bytes, so a distinct image."""
    buffer = io.BytesIO()
    PILImage.new("RGB", size, solid_colour(hue)).save(buffer, format=image_format)
    return buffer.getvalue()


def store_images(*, owner, hue: int, count: int = 1, visibility: str = "public", wide: bool = False) -> list[Image]:
    """`count` distinct images of `hue` stored through the real ingest pipeline, as an upload would store them.

    `wide` images make short tiles, so many of them pass by in a short scroll.
    """
    # In a thread of its own: the commit hooks that announce new images call async_to_sync, which
    # refuses to run in a thread where Playwright's event loop counts as running.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_store_images, owner=owner, hue=hue, count=count, visibility=visibility, wide=wide).result()


def _store_images(*, owner, hue: int, count: int, visibility: str, wide: bool) -> list[Image]:
    width, height = (96, 24) if wide else (64, 48)
    uploads = []
    for index in range(count):
        serial = next(_serial)
        data = image_bytes(hue=hue, size=(width + serial % 200, height + serial // 200))
        uploads.append(ingest.receive(filename=f"hue-{hue}-{index}.png", size=len(data), read=lambda data=data: data))
    try:
        [results] = ingest.ingest_batches(owner=owner, batches=[uploads], visibility=visibility)
        assert [result.status for result in results] == ["created"] * count, results
        return list(Image.objects.filter(pk__in=[result.id for result in results]).order_by("pk"))
    finally:
        connection.close()
