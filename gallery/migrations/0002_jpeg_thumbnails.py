"""Thumbnails stored as WebP (before JPEG became the thumbnail format) are re-encoded as JPEG.

Every stored thumbnail then has the one media type the API and the websocket announce. The
encoding is spelled out here rather than imported, so that this migration keeps doing what it
did when gallery.thumbnails changes again.
"""

import io
import lzma

from django.db import migrations
from PIL import Image

BATCH = 500
JPEG_QUALITY = 65
XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * 1024}]


def webp_to_jpeg(stored: bytes) -> bytes | None:
    """The thumbnail re-encoded as JPEG in xz, or None if it is not a WebP one."""
    unpacked = lzma.decompress(stored, format=lzma.FORMAT_XZ)
    if not (unpacked[:4] == b"RIFF" and unpacked[8:12] == b"WEBP"):
        return None
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(unpacked), formats=["WEBP"]).convert("RGB").save(
        jpeg, format="JPEG", quality=JPEG_QUALITY, optimize=True
    )
    return lzma.compress(jpeg.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=XZ_FILTERS)


def reencode_webp_thumbnails(apps, schema_editor):
    image_model = apps.get_model("gallery", "Image")
    last_id = 0
    while True:
        batch = list(image_model.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", "thumbnail")[:BATCH])
        if not batch:
            return
        for image_id, stored in batch:
            if (reencoded := webp_to_jpeg(bytes(stored))) is not None:
                image_model.objects.filter(pk=image_id).update(thumbnail=reencoded)
        last_id = batch[-1][0]


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial")]

    operations = [migrations.RunPython(reencode_webp_thumbnails, migrations.RunPython.noop, elidable=True)]
