"""Real image files for the browser tests: solid colours with a known hue, made with Pillow."""

import colorsys
import io
import itertools
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection
from PIL import Image as PILImage

from gallery import services
from gallery.analysis import analyse_image
from gallery.models import Image

# Each image gets a marker pixel of its own, so its bytes (and so its content hash) differ from
# every other one; a single pixel is far below the share that counts as a dominant colour.
_serial = itertools.count(1)


def solid_color(hue: int) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue / 360, 1.0, 1.0)
    return round(red * 255), round(green * 255), round(blue * 255)


def image_bytes(*, hue: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A solid PNG of `hue`, distinct from every other one made here."""
    image = PILImage.new("RGB", size, solid_color(hue))
    serial = next(_serial)
    image.putpixel((0, 0), (serial % 256, serial // 256 % 256, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def store_images(
    *, owner, hue: int, count: int = 1, visibility: str = "public", size: tuple[int, int] = (64, 48)
) -> list[Image]:
    """`count` distinct images of `hue`, analysed and stored as an upload stores them."""
    # In a thread of its own: the commit hooks that announce new images call async_to_sync, which
    # refuses to run in a thread where Playwright's event loop counts as running.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(
            _store_images, owner=owner, hue=hue, count=count, visibility=visibility, size=size
        ).result()


def _store_images(*, owner, hue: int, count: int, visibility: str, size: tuple[int, int]) -> list[Image]:
    try:
        new_images = []
        for index in range(count):
            data = image_bytes(hue=hue, size=size)
            analysis = analyse_image(data, max_pixels=settings.SCROLLER_MAX_PIXELS)
            new_images.append(services.NewImage(original_name=f"hue-{hue}-{index}.png", data=data, analysis=analysis))
        stored = services.store_images(owner=owner, new_images=new_images, visibility=visibility)
        assert all(created for _, created in stored)
        return [image for image, _ in stored]
    finally:
        connection.close()
