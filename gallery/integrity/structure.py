"""Structural checks of JPEG and PNG files, run before decoding; pure, no Django.

Pillow decodes through damage silently: libjpeg's "Corrupt JPEG data" warnings never reach Python,
and a PNG chunk whose checksum is wrong is read anyway. So a JPEG with garbage in its entropy-coded
data was stored with a damaged thumbnail, and a PNG with a bad CRC as a black picture. Here every
PNG chunk's CRC is checked, and a JPEG's segments are walked: inside entropy-coded data a 0xFF byte
may only be stuffing (0xFF00) or a restart marker, and what ends it must be a marker JPEG defines.
A file that ends early is left to the decoder, whose "truncated" refusal says more.

Data after a JPEG's end-of-image marker is not refused: cameras and phones write trailers there
(MPF, Samsung and Google photo data). A JPEG/HTML polyglot is stored as uploaded, and served so
that a browser can only show it as an image (gallery.views: exact type, nosniff, CSP sandbox).
"""

import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length
_END_OF_IMAGE = 0xD9
_START_OF_SCAN = 0xDA
# Markers a JPEG may contain (ITU T.81 table B.1): frames, tables, scans, applications, comments.
_DEFINED_MARKERS = frozenset({*range(0xC0, 0xD0), *range(0xDA, 0xE0), *range(0xE0, 0xF0), 0xFE})


class CorruptImage(Exception):
    """The file's structure is damaged; the message says where."""


def check_structure(data: bytes, *, image_format: str) -> None:
    if image_format == "JPEG":
        _check_jpeg(data)
    elif image_format == "PNG":
        _check_png(data)


def _check_jpeg(data: bytes) -> None:
    position = 2  # after the start-of-image marker
    while position + 1 < len(data):
        if data[position] != 0xFF:
            raise CorruptImage(f"unexpected data at byte {position}, where a marker should begin")
        while position + 1 < len(data) and data[position + 1] == 0xFF:
            position += 1  # fill bytes
        if position + 1 >= len(data):
            return
        marker = data[position + 1]
        if marker == _END_OF_IMAGE:
            return
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        if marker not in _DEFINED_MARKERS:
            raise CorruptImage(f"invalid marker 0xFF{marker:02X} at byte {position}")
        if position + 4 > len(data):
            return
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            raise CorruptImage(f"a segment of impossible length {length} at byte {position}")
        position += 2 + length
        if marker == _START_OF_SCAN:
            position = _end_of_entropy_coded_data(data, start=position)


def _end_of_entropy_coded_data(data: bytes, *, start: int) -> int:
    """Where the marker that ends the scan starting at `start` begins (the end of the data if none does)."""
    position = start
    while (position := data.find(b"\xff", position)) != -1 and position + 1 < len(data):
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2  # a stuffed 0xFF, or a restart marker
        elif following == 0xFF:
            position += 1
        else:
            return position
    return len(data)


def _check_png(data: bytes) -> None:
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 8 + length
        if not kind.isalpha():
            raise CorruptImage(f"a chunk without a valid type at byte {position}")
        if end + 4 > len(data):
            return
        if zlib.crc32(data[position + 4 : end]) != int.from_bytes(data[end : end + 4], "big"):
            raise CorruptImage(f"the {kind.decode('ascii')} chunk at byte {position} fails its CRC check")
        if kind == b"IEND":
            return
        position = end + 4
