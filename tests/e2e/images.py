"""Real image files for the browser tests: solid colours with a known hue, made with Pillow, and real photographs."""

import colorsys
import io
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


# Photographs from Debian's lomiri-wallpapers-16.04 (a TEST_PACKAGES entry of dev.sh).
PHOTOGRAPHS = Path("/usr/share/backgrounds")


def store_photographs(*, owner, long_side: int = 800) -> list[Image]:
    """The installed photographs, each also cropped in two, scaled down and stored as an upload stores them."""
    paths = sorted(PHOTOGRAPHS.glob("*_by_*.jpg"))
    assert paths, f"no photographs in {PHOTOGRAPHS}: install lomiri-wallpapers-16.04 (./dev.sh test does)"
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_store_photographs, owner=owner, paths=paths, long_side=long_side).result()


def _store_photographs(*, owner, paths: list[Path], long_side: int) -> list[Image]:
    try:
        new_images = []
        for path in paths:
            with PILImage.open(path) as opened:
                opened.draft("RGB", (long_side * 2, long_side * 2))
                photo = opened.convert("RGB")
            width, height = photo.size
            for name, box in (
                ("whole", (0, 0, width, height)),
                ("left", (0, 0, width * 2 // 3, height)),
                ("right", (width // 3, 0, width, height)),
            ):
                part = photo.crop(box)
                part.thumbnail((long_side, long_side))
                buffer = io.BytesIO()
                part.save(buffer, format="JPEG", quality=88)
                data = buffer.getvalue()
                analysis = analyse_image(data, max_pixels=settings.SCROLLER_MAX_PIXELS)
                new_images.append(
                    services.NewImage(original_name=f"{path.stem}-{name}.jpg", data=data, analysis=analysis)
                )
        stored = services.store_images(owner=owner, new_images=new_images, visibility="public")
        return [image for image, _ in stored]
    finally:
        connection.close()


def small_jpeg(index: int, *, size: tuple[int, int] = (16, 12)) -> bytes:
    """A tiny real JPEG of its own colour; the index in its comment makes its bytes differ from every other one's."""
    red, green, blue = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1, 0.8, 0.9)
    image = PILImage.new("RGB", size, (round(red * 255), round(green * 255), round(blue * 255)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, comment=f"scroller test photo {index}".encode())
    return buffer.getvalue()


def write_photo_folder(folder: Path, *, count: int, per_subfolder: int = 500, others: int = 0) -> list[Path]:
    """`count` small JPEGs spread over subfolders, plus `others` files that are not images; returns the JPEGs."""
    photos = []
    for index in range(count):
        path = folder / f"part-{index // per_subfolder:02d}" / f"photo-{index:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(small_jpeg(index))
        photos.append(path)
    for index in range(others):
        (folder / f"notes-{index:04d}.txt").write_text(f"not an image {index}\n")
    return photos


def store_files(*, owner, paths: list[Path]) -> list[Image]:
    """These files stored as an upload stores them (in a thread of its own, as store_images explains)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_store_files, owner=owner, paths=paths).result()


def _store_files(*, owner, paths: list[Path]) -> list[Image]:
    try:
        new_images = [
            services.NewImage(
                original_name=path.name,
                data=path.read_bytes(),
                analysis=analyse_image(path.read_bytes(), max_pixels=settings.SCROLLER_MAX_PIXELS),
            )
            for path in paths
        ]
        return [image for image, _ in services.store_images(owner=owner, new_images=new_images, visibility="public")]
    finally:
        connection.close()
