"""From the bytes of one uploaded file to what the gallery stores about it, or a specific refusal.

Pure (no Django): it runs in the ingest pool's worker processes, so its inputs and outputs pickle.
The caller checks the byte size before reading the file; everything else is checked here.
"""

import contextlib
import hashlib
import io
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import ExifTags, GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from gallery.colors import DominantColor, dominant_colors, is_monochrome, to_srgb
from gallery.integrity.structure import CorruptImage, check_structure
from gallery.mosaic.tiles import MosaicTile, mosaic_tile
from gallery.similar.phash import perceptual_hash
from gallery.thumbnails import THUMBNAIL_MAX_SIDE, encode_thumbnail, scale_down, scaled_down_size

_EXPECTED_FORMATS = "expected JPEG, PNG, WebP or GIF"
_TILE_SAMPLE_SIDE = 48

_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
# Opening through the one plugin the signature names, rather than Image.open, means no other
# parser ever sees untrusted bytes, the header's real complaint is kept for the message, and
# Pillow's own pixel limit does not pre-empt ours before the dimensions are known.
_OPENERS: dict[str, Callable[[io.BytesIO], Image.Image]] = {
    "JPEG": JpegImagePlugin.jpeg_factory,
    "PNG": PngImagePlugin.PngImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "GIF": GifImagePlugin.GifImageFile,
}
# What Pillow raises for bytes it cannot make sense of.
_DATA_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
# Real photographs and screenshots stay well under a few hundred pixels per byte, even flat
# ones; a file declaring far more pixels than its size can plausibly hold is built to explode.
_BOMB_PIXELS_PER_BYTE = 1000
# Pillow refuses PNG text and ICC chunks that inflate past its limits with a ValueError.
_PNG_METADATA_BOMB_MESSAGES = ("decompressed data too large", "too much memory used in text chunks")
_TRANSPOSITIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}
# How a complete file of each format ends; Pillow does not always say "truncated" when it is not.
_ENDS_WHOLE: dict[str, Callable[[bytes], bool]] = {
    "JPEG": lambda data: data.rstrip(b"\0").endswith(b"\xff\xd9"),
    "PNG": lambda data: b"IEND" in data[-12:],
    "GIF": lambda data: data.rstrip(b"\0").endswith(b";"),
    "WEBP": lambda data: len(data) >= int.from_bytes(data[4:8], "little") + 8,
}


class ImageRejected(Exception):
    """The file is refused; `reason` says why, for the person who uploaded it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    sha256: str  # hex digest of the uploaded bytes
    format: str  # "JPEG", "PNG", "WEBP" or "GIF"
    width: int  # as displayed, after EXIF orientation
    height: int
    thumbnail: bytes  # JPEG in an xz container, see gallery.thumbnails
    thumbnail_width: int
    thumbnail_height: int
    colors: tuple[DominantColor, ...]
    tile: MosaicTile
    perceptual_hash: int  # signed 64-bit, see gallery.similar.phash

    @property
    def monochrome(self) -> bool:
        return is_monochrome(self.colors)


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """The first step of `analyse_image`: a checked, decoded file and its upright RGB thumbnail."""

    format: str
    width: int  # as displayed, after EXIF orientation
    height: int
    thumbnail: Image.Image


def analyse_image(data: bytes, *, max_pixels: int) -> ImageAnalysis:
    """Decode, check and describe one uploaded file; raise ImageRejected with the reason if it is refused.

    GIFs and animated WebPs are described by their first frame.
    """
    decoded = decode_image(data, max_pixels=max_pixels)
    return ImageAnalysis(
        sha256=hashlib.sha256(data).hexdigest(),
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        thumbnail=encode_thumbnail(decoded.thumbnail),
        thumbnail_width=decoded.thumbnail.width,
        thumbnail_height=decoded.thumbnail.height,
        colors=tuple(dominant_colors(decoded.thumbnail)),
        **similarity_of(decoded.thumbnail),
    )


def similarity_of(thumbnail: Image.Image) -> dict:
    """What mosaics and "more like this" need: see gallery.mosaic.tiles and gallery.similar.phash."""
    return {"tile": mosaic_tile(tile_sample(thumbnail)), "perceptual_hash": perceptual_hash(thumbnail)}


def tile_sample(thumbnail: Image.Image) -> Image.Image:
    """The thumbnail box-reduced by a whole factor to 48–95 px on its short side, for the 16 px mosaic tile.

    An integer reduction costs a third of resampling the whole thumbnail. The perceptual hash is
    made from the thumbnail itself: from such a sample, 84 % of resized copies of the benchmark
    photos stayed within the near-duplicate distance instead of 97 %.
    """
    return thumbnail.reduce(max(1, min(thumbnail.size) // _TILE_SAMPLE_SIDE))


def decode_image(data: bytes, *, max_pixels: int) -> DecodedImage:
    """Identify, check and decode the file; raise ImageRejected with the reason if it is refused."""
    image_format = _identify_format(data)
    _check_structure(data, image_format=image_format)
    # Pillow warns about things this function either refuses with a reason or can safely ignore
    # (odd EXIF, palette quirks, its own pixel limit, which is checked here against `max_pixels`).
    with warnings.catch_warnings(action="ignore"):
        image, (stored_width, stored_height) = _decode(data, image_format=image_format, max_pixels=max_pixels)
        orientation = _orientation(image)
        thumbnail = _orient(scale_down(_flatten_to_rgb(to_srgb(image))), orientation=orientation)
    quarter_turned = orientation in _QUARTER_TURNS
    return DecodedImage(
        format=image_format,
        width=stored_height if quarter_turned else stored_width,
        height=stored_width if quarter_turned else stored_height,
        thumbnail=thumbnail,
    )


def _identify_format(data: bytes) -> str:
    """The supported format the file's signature names, whatever its name or extension says."""
    if not data:
        raise ImageRejected("empty file")
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    if unsupported := _unsupported_format(data):
        raise ImageRejected(f"{unsupported} images are not supported: {_EXPECTED_FORMATS}")
    raise ImageRejected(f"not an image: {_EXPECTED_FORMATS}")


def _check_structure(data: bytes, *, image_format: str) -> None:
    try:
        check_structure(data, image_format=image_format)
    except CorruptImage as damage:
        raise ImageRejected(f"corrupt {_FORMAT_NAMES[image_format]}: {damage}") from damage


def _unsupported_format(data: bytes) -> str | None:
    """The name of an image format people commonly try to upload that the gallery does not take."""
    if data.startswith(b"BM") and data[6:10] == b"\0\0\0\0":
        return "BMP"
    if data.startswith((b"II*\0", b"MM\0*")):
        return "TIFF"
    if data.startswith(b"\0\0\1\0"):
        return "ICO"
    if data.startswith(b"8BPS"):
        return "Photoshop (PSD)"
    if data.startswith((b"\xff\x0a", b"\0\0\0\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    if data.startswith(b"\0\0\0\x0cjP  \r\n\x87\n"):
        return "JPEG 2000"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
    head = data[:1024].lstrip()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def _decode(data: bytes, *, image_format: str, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded image, possibly at a reduced JPEG scale, and its full size as stored (before EXIF orientation)."""
    if image_format == "WEBP" and (declared := _webp_canvas_size(data)):
        # Pillow's WebP decoder allocates the whole canvas as soon as it is opened.
        _check_pixel_count(declared, data_size=len(data), image_format=image_format, max_pixels=max_pixels)
    with _refusing_broken_data(data, image_format=image_format):
        image = _OPENERS[image_format](io.BytesIO(data))
        stored_size = image.size
        _check_pixel_count(stored_size, data_size=len(data), image_format=image_format, max_pixels=max_pixels)
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for about that fraction of the time, as long as
        # the result is still at least thumbnail sized. Other formats ignore it.
        image.draft(None, scaled_down_size(stored_size, max_side=THUMBNAIL_MAX_SIDE))
        image.load()
    return image, stored_size


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_pixel_count(size: tuple[int, int], *, data_size: int, image_format: str, max_pixels: int) -> None:
    width, height = size
    pixels = width * height
    if pixels <= max_pixels:
        return
    if pixels > data_size * _BOMB_PIXELS_PER_BYTE:
        raise ImageRejected(
            f"decompression bomb: the {_FORMAT_NAMES[image_format]} file declares {width}×{height} pixels "
            f"({_megapixels(pixels)} megapixels) in only {_byte_size(data_size)}"
        )
    raise ImageRejected(
        f"{width}×{height} is {_megapixels(pixels)} megapixels, over the limit of {_megapixels(max_pixels)} megapixels"
    )


@contextlib.contextmanager
def _refusing_broken_data(data: bytes, *, image_format: str) -> Iterator[None]:
    name = _FORMAT_NAMES[image_format]
    try:
        yield
    except Image.DecompressionBombError as error:
        raise ImageRejected(
            f"decompression bomb: the {name} file declares an image far larger than its data"
        ) from error
    except _DATA_ERRORS as error:
        if isinstance(error, ValueError) and str(error).lower().startswith(_PNG_METADATA_BOMB_MESSAGES):
            raise ImageRejected(
                f"decompression bomb: the {name} file's metadata inflates far beyond its size"
            ) from error
        if _is_truncated(data, image_format=image_format, error=error):
            raise ImageRejected(f"truncated {name}: the file ends before its image data does") from error
        raise ImageRejected(f"corrupt {name}: {error}") from error


def _is_truncated(data: bytes, *, image_format: str, error: Exception) -> bool:
    return "truncated" in str(error).lower() or not _ENDS_WHOLE[image_format](data)


def _orientation(image: Image.Image) -> int:
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    return orientation if orientation in _TRANSPOSITIONS else 1


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with transparency shown over white as image viewers do.

    Much transparent art is dark line work meant for a light page; on the gallery's dark page it
    would vanish.
    """
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I"):
        # Converting 16-bit values to 8 bits clips them at 255, turning everything but near-black white.
        return image.point(lambda value: value / 256).convert("RGB")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, "white")
        flattened.paste(rgba, mask=rgba)
        return flattened
    return image.convert("RGB")


def _orient(image: Image.Image, *, orientation: int) -> Image.Image:
    """Turned upright as the EXIF orientation says; done on the thumbnail, where it is cheap."""
    if transposition := _TRANSPOSITIONS.get(orientation):
        return image.transpose(transposition)
    return image


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:,.2f}".rstrip("0").rstrip(".")


def _byte_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"
