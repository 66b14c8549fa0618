"""Gallery thumbnails: at most 400 px a side, JPEG, stored and sent inside an xz container.

Pure (no Django): it runs in the ingest pool's worker processes.

The encoding was chosen by measurement on the benchmark photos (512 px JPEG crops of real
photographs, scaled to 400 px). SSIM is against the unencoded thumbnail, encode time is the
median of one core:

    encoding                  mean stored   encode   SSIM
    JPEG q95 (the original)      38.0 KiB   0.7 ms   0.994
    JPEG q85                     20.0 KiB   0.6 ms   0.984
    JPEG q70, optimised          12.7 KiB   0.8 ms   0.972
    JPEG q65, optimised          11.5 KiB   0.8 ms   0.970
    JPEG q60                     11.8 KiB   0.5 ms   0.967
    WebP q76 method 0            11.8 KiB   2.3 ms   0.971
    WebP q80 method 4            11.3 KiB  13.4 ms   0.979
    AVIF q60 speed 10            10.2 KiB   8.4 ms   0.975

At the 12 KiB budget, JPEG q65 with optimised Huffman tables matches WebP's fastest method
for fidelity at a third of its encode time, which is what ingest is bound by (a budget of 8 ms
per image for decoding, colours and thumbnail together). Side by side at display size the two
cannot be told apart from the unencoded thumbnail. `bench/analysis.py` measures the chosen encoding.
"""

import io
import lzma

from PIL import Image

THUMBNAIL_MAX_SIDE = 400
THUMBNAIL_MEDIA_TYPE = "image/jpeg"

# See the module docstring: the quality that keeps the mean under 12 KiB.
_JPEG_QUALITY = 65
# JPEG is already entropy coded, so LZMA finds nothing to squeeze and the container is only a
# wrapper the client expects. The fastest preset with a dictionary no larger than a thumbnail
# costs 0.8 ms instead of 6 ms for the default preset 6 (which sets up an 8 MiB dictionary), and
# keeps the browser's xz-embedded decoder's memory small. CRC32 is the check xz-embedded prefers.
_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * 1024}]
# From 512 px photos, bilinear takes 1.5 ms, box 1.2 and bicubic 2.4. Pillow's bilinear is a
# proper antialiasing filter when shrinking (SSIM 0.993 against Lanczos); box aliases fine
# texture (0.987), which also costs JPEG a tenth more bytes.
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
    """The stored form of a thumbnail: JPEG inside an xz container. Scale it down first."""
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
    return lzma.compress(jpeg.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=_XZ_FILTERS)


def decode_thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(lzma.decompress(data, format=lzma.FORMAT_XZ)), formats=["JPEG"])
    image.load()
    return image
