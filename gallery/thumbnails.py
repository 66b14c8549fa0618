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
import struct
import zlib

from PIL import Image

THUMBNAIL_MAX_SIDE = 400
THUMBNAIL_MEDIA_TYPE = "image/jpeg"

# See the module docstring: the quality that keeps the mean under 12 KiB.
_JPEG_QUALITY = 65
# JPEG is already entropy coded, so LZMA finds next to nothing to squeeze (13 bytes of a 13 KB
# thumbnail on the benchmark photos) and the container is only a wrapper the client expects.
# Running the LZMA2 encoder even at its fastest preset cost 1.3 ms a thumbnail, a fifth of all
# the per-image work at ingest; the container is therefore written directly, its LZMA2 data made
# of "stored" chunks (LZMA2's own form for data it cannot compress, which every decoder reads),
# for a few dozen bytes more. The declared 64 KiB dictionary keeps the browser's xz-embedded
# decoder's memory small; CRC32 is the check xz-embedded prefers.
_XZ_DICTIONARY_SIZE_CODE = 8  # LZMA2's code for a 64 KiB dictionary: 2 << (8 // 2 + 11)
_LZMA2_STORED_CHUNK = 64 * 1024
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
    return xz_stored(jpeg.getvalue())


def xz_stored(data: bytes) -> bytes:
    """`data` in a single-block .xz stream (CRC32 check) whose LZMA2 chunks are stored uncompressed.

    The layout is that of the .xz file format 1.0.4 (tukaani.org/xz/xz-file-format.txt).
    """
    flags = b"\x00\x01"  # check type CRC32
    header = b"\xfd7zXZ\x00" + flags + _crc32(flags)
    # Block header: its size in 4-byte units less one, no optional sizes, one filter (LZMA2, one property byte).
    block_fields = b"\x02\x00\x21\x01" + bytes([_XZ_DICTIONARY_SIZE_CODE]) + b"\x00\x00\x00"
    block_header = block_fields + _crc32(block_fields)
    chunks = [
        # 0x01 resets the dictionary (the first chunk must), 0x02 keeps it; then the size less one, big-endian.
        (b"\x01" if start == 0 else b"\x02")
        + struct.pack(">H", len(data[start : start + _LZMA2_STORED_CHUNK]) - 1)
        + data[start : start + _LZMA2_STORED_CHUNK]
        for start in range(0, len(data), _LZMA2_STORED_CHUNK)
    ]
    compressed = b"".join(chunks) + b"\x00"  # 0x00 ends the LZMA2 data
    unpadded_size = len(block_header) + len(compressed) + 4
    block = block_header + compressed + b"\x00" * (-len(compressed) % 4) + _crc32(data)
    index_fields = b"\x00\x01" + _varint(unpadded_size) + _varint(len(data))
    index_fields += b"\x00" * (-len(index_fields) % 4)
    index = index_fields + _crc32(index_fields)
    footer_fields = struct.pack("<I", len(index) // 4 - 1) + flags
    return header + block + index + _crc32(footer_fields) + footer_fields + b"YZ"


def _crc32(data: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(data))


def _varint(value: int) -> bytes:
    """The .xz format's multibyte integer: seven bits a byte, least significant first."""
    encoded = bytearray()
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def decode_thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(lzma.decompress(data, format=lzma.FORMAT_XZ)), formats=["JPEG"])
    image.load()
    return image
