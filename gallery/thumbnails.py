"""Gallery thumbnails: at most 400 px a side, WebP, stored and sent inside an xz container.

Pure (no Django): it runs in the ingest pool's worker processes.

Encoding, chosen by measurement on 600 of the benchmark photos (512 px JPEG crops, scaled to
400 px; `bench/analysis.py` reproduces the size and time):

    format              mean stored   encode   SSIM vs the unencoded thumbnail (mean, worst)
    JPEG q95 (before)      38.0 KiB   0.7 ms   0.994  0.974
    JPEG q85               20.0 KiB   0.6 ms   0.984  0.923
    WebP q75 method 0      11.7 KiB   3.1 ms   0.972  0.882
    WebP q80 method 0      13.8 KiB   3.0 ms   0.977  0.914
    WebP q80 method 2      11.7 KiB   5.5 ms   0.977  0.917
    WebP q80 method 4      11.3 KiB  13.4 ms   0.979  0.920
    AVIF q60 speed 10      10.2 KiB   8.4 ms   0.975  0.913

WebP q80 method 2 is the smallest quality that keeps film grain and fine texture (q75 visibly
smooths grain at 2x zoom; q80 does not), and method 2 is where WebP's size gain flattens out:
method 4 saves another 3% for 2.5x the time. AVIF is smaller at equal quality but too slow to
encode. Chromium displays both natively.
"""

import io
import lzma

from PIL import Image

THUMBNAIL_MAX_SIDE = 400
THUMBNAIL_MEDIA_TYPE = "image/webp"

_WEBP_QUALITY = 80
_WEBP_METHOD = 2
# WebP is already entropy coded, so LZMA finds nothing to squeeze and the container is only a
# wrapper the client expects. The fastest preset with a dictionary no larger than a thumbnail
# costs 0.8 ms instead of 6 ms for the default preset 6 (which sets up an 8 MiB dictionary), and
# keeps the browser's xz-embedded decoder's memory small. CRC32 is the check xz-embedded prefers.
_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * 1024}]
# Bicubic costs half of Lanczos here and, after WebP at q80, the two are indistinguishable.
_RESAMPLING = Image.Resampling.BICUBIC
# Large images are first box-reduced to within this factor of the target: far faster, and a
# gap of 3 is indistinguishable from resampling the whole way.
_REDUCING_GAP = 3.0


def scaled_down_size(size: tuple[int, int], *, max_side: int = THUMBNAIL_MAX_SIDE) -> tuple[int, int]:
    """`size` shrunk to fit `max_side` with its aspect ratio kept; never enlarged."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return size
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def scale_down(image: Image.Image, *, max_side: int = THUMBNAIL_MAX_SIDE) -> Image.Image:
    """`image` shrunk so its longest side is at most `max_side`; a smaller image is returned as it is."""
    size = scaled_down_size(image.size, max_side=max_side)
    if size == image.size:
        return image
    return image.resize(size, _RESAMPLING, reducing_gap=_REDUCING_GAP)


def encode_thumbnail(image: Image.Image) -> bytes:
    """The stored form of a thumbnail: WebP inside an xz container. Scale it down first."""
    webp = io.BytesIO()
    image.save(webp, format="WEBP", quality=_WEBP_QUALITY, method=_WEBP_METHOD)
    return lzma.compress(webp.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=_XZ_FILTERS)


def decode_thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(lzma.decompress(data, format=lzma.FORMAT_XZ)), formats=["WEBP"])
    image.load()
    return image
