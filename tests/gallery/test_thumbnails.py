import lzma

import pytest
from PIL import Image

from gallery.thumbnails import (
    THUMBNAIL_MEDIA_TYPE,
    decode_thumbnail,
    encode_thumbnail,
    scale_down,
    scaled_down_size,
    xz_stored,
)
from tests.gallery import images as make


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1600, 1200), (400, 300)), ((1200, 1600), (300, 400)), ((512, 512), (400, 400)), ((10_000, 10), (400, 1))],
)
def test_scaling_down_fits_the_longest_side_to_400_and_keeps_the_aspect_ratio(size, expected):
    assert scale_down(Image.new("RGB", size, "red")).size == expected
    assert scaled_down_size(size) == expected


@pytest.mark.parametrize("size", [(400, 300), (120, 80), (1, 1)])
def test_a_small_image_is_never_enlarged(size):
    image = Image.new("RGB", size, "red")

    assert scale_down(image).size == size


def test_a_different_maximum_side_can_be_asked_for():
    assert scale_down(Image.new("RGB", (1000, 500)), max_side=100).size == (100, 50)


def test_the_stored_thumbnail_is_an_xz_container_around_the_media_type():
    stored = encode_thumbnail(make.photo_like_image(width=400, height=300))

    unpacked = lzma.decompress(stored, format=lzma.FORMAT_XZ)

    assert stored.startswith(b"\xfd7zXZ\x00")
    assert THUMBNAIL_MEDIA_TYPE == "image/jpeg"
    assert unpacked.startswith(b"\xff\xd8\xff") and unpacked.endswith(b"\xff\xd9")


@pytest.mark.parametrize("length", [1, 3, 65_535, 65_536, 65_537, 200_003])
def test_the_written_xz_container_holds_its_data_across_lzma2_chunk_boundaries(length):
    """A noisy picture's JPEG can outgrow one 64 KiB stored chunk: every length must come back whole, checks and all."""
    data = bytes(range(256)) * (length // 256) + bytes(length % 256)

    assert lzma.decompress(xz_stored(data), format=lzma.FORMAT_XZ) == data


def test_the_xz_container_uses_crc32_checks_for_the_browser_decoder():
    stored = encode_thumbnail(Image.new("RGB", (40, 30), "blue"))

    stream_flags_check_type = stored[7] & 0x0F
    assert stream_flags_check_type == 0x01  # CRC32


def test_a_thumbnail_decodes_back_to_an_image_of_the_same_size_and_color():
    thumbnail = scale_down(Image.new("RGB", (800, 600), (200, 40, 40)))

    decoded = decode_thumbnail(encode_thumbnail(thumbnail))

    assert decoded.format == "JPEG"
    assert decoded.size == (400, 300)
    pixel = decoded.convert("RGB").getpixel((200, 150))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    assert abs(red - 200) <= 6 and abs(green - 40) <= 6 and abs(blue - 40) <= 6
