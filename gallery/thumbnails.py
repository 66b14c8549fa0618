"""Gallery thumbnails: at most 400 px a side, WebP, stored and sent inside an xz container.

Pure (no Django): it runs in the ingest pool's worker processes.

The encoding was chosen by measurement on the benchmark photos (512 px JPEG crops of real
photographs, scaled to 400 px with bicubic). On 600 of them, one encode each:

    encoding             mean stored   encode   SSIM against the unencoded thumbnail
    JPEG q95 (before)       38.0 KiB   0.7 ms   0.994
    JPEG q85                20.0 KiB   0.6 ms   0.984
    WebP q75 method 0       11.7 KiB   3.1 ms   0.972
    WebP q80 method 0       13.8 KiB   3.0 ms   0.977
    WebP q76 method 1       11.2 KiB   3.8 ms   0.973
    WebP q80 method 2       11.7 KiB   5.5 ms   0.977
    WebP q80 method 4       11.3 KiB  13.4 ms   0.979
    AVIF q60 speed 10       10.2 KiB   8.4 ms   0.975

Side by side at 2x zoom, q75 method 0 visibly smooths away film grain and fine texture that q80
method 2 keeps; at display size (1x) the two cannot be told apart. Ingest has a budget of 8 ms per
image for decoding, colours and thumbnail together, and method 2 alone costs 5.5 ms, so speed wins:
WebP q76 method 0, from a bilinear resize, averages 11.3 KiB over all 4000 photos in about 3.5 ms.
Chromium displays WebP natively.
`bench/analysis.py` measures the chosen encoding.
"""

import io
import lzma

from PIL import Image

THUMBNAIL_MAX_SIDE = 400
THUMBNAIL_MEDIA_TYPE = "image/webp"

# See the module docstring: the fastest method, at the quality that keeps the mean under 12 KiB.
_WEBP_QUALITY = 76
_WEBP_METHOD = 0
# WebP is already entropy coded, so LZMA finds nothing to squeeze and the container is only a
# wrapper the client expects. The fastest preset with a dictionary no larger than a thumbnail
# costs 0.8 ms instead of 6 ms for the default preset 6 (which sets up an 8 MiB dictionary), and
# keeps the browser's xz-embedded decoder's memory small. CRC32 is the check xz-embedded prefers.
_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * 1024}]
# From 512 px photos, bilinear takes 2.1 ms, bicubic 3.3 and Lanczos 4.2. Pillow's bilinear is a
# proper antialiasing filter when shrinking, and at the mild ratios of thumbnails its slight
# softness does not show.
_RESAMPLING = Image.Resampling.BILINEAR
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
