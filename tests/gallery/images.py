"""Real image files for tests, made with Pillow: good ones in every format, and broken ones.

Colours are anything Pillow takes: (r, g, b) tuples, "red", "#ff8000", "hsv(355, 100%, 100%)".
Formats are Pillow's names: "JPEG", "PNG", "WEBP", "GIF", and for refusals "BMP", "TIFF".
"""

import io
import struct
import zlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageColor

Color = tuple[int, int, int] | str

# Pillow's PNG plugin refuses a text chunk that inflates past this (PngImagePlugin.MAX_TEXT_CHUNK).
_PNG_TEXT_LIMIT = 1024 * 1024
_EXIF_ORIENTATION_TAG = 0x0112


def encode(image: Image.Image, *, image_format: str, exif_orientation: int | None = None, **save_options) -> bytes:
    """`image` saved as `image_format`; `exif_orientation` (1–8) is written to its EXIF when given."""
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[_EXIF_ORIENTATION_TAG] = exif_orientation
        save_options["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **save_options)
    return buffer.getvalue()


def solid(
    *, color: Color = "red", width: int = 64, height: int = 48, image_format: str = "PNG", mode: str = "RGB"
) -> bytes:
    """One colour all over. `mode` other than RGB (e.g. "CMYK", "L", "P") converts before saving."""
    image = Image.new("RGB", (width, height), color)
    if mode != "RGB":
        image = image.convert(mode)
    return encode(image, image_format=image_format)


def two_color_split(
    *,
    first: Color = "red",
    second: Color = "blue",
    first_share: float = 0.5,
    width: int = 100,
    height: int = 50,
    image_format: str = "PNG",
    exif_orientation: int | None = None,
) -> bytes:
    """`first` fills the left `first_share` of the columns, `second` the rest."""
    return encode(
        split_image(first=first, second=second, first_share=first_share, width=width, height=height),
        image_format=image_format,
        exif_orientation=exif_orientation,
    )


def split_image(
    *, first: Color = "red", second: Color = "blue", first_share: float = 0.5, width: int = 100, height: int = 50
) -> Image.Image:
    image = Image.new("RGB", (width, height), second)
    image.paste(Image.new("RGB", (round(width * first_share), height), first))
    return image


def areas_image(
    areas: Mapping[Color, float] | Mapping[tuple[int, int, int], float], *, width: int = 200, height: int = 100
) -> Image.Image:
    """Vertical bands, left to right, each colour covering its share of the columns (the last takes the rest)."""
    image = Image.new("RGB", (width, height))
    left = 0
    for index, (color, share) in enumerate(areas.items()):
        right = width if index == len(areas) - 1 else left + round(width * share)
        image.paste(Image.new("RGB", (right - left, height), color), (left, 0))
        left = right
    return image


def faithful_options(image_format: str) -> dict[str, Any]:
    """Save options that keep flat test colours exact enough to check hues within a few degrees."""
    options: dict[str, dict[str, Any]] = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}
    return options.get(image_format, {})


def in_profile(image: Image.Image, *, profile_path: str, mode: str = "RGB") -> Image.Image:
    """`image` (sRGB) converted properly into the colour space of the ICC profile at `profile_path`, with the profile attached.

    Saving it with `encode(..., icc_profile=result.info["icc_profile"])` makes a file a colour-managed viewer shows as `image`.
    """
    profile = ImageCms.getOpenProfile(profile_path)
    converted = ImageCms.profileToProfile(image, ImageCms.createProfile("sRGB"), profile, outputMode=mode)
    assert converted is not None  # None only when converting in place
    converted.info["icc_profile"] = profile.tobytes()
    return converted


def photo_like(*, width: int = 640, height: int = 480, image_format: str = "JPEG", seed: int = 0) -> bytes:
    """Smooth gradients under grain: compresses about as well as a photograph, not like a flat test card."""
    return encode(photo_like_image(width=width, height=height, seed=seed), image_format=image_format)


def photo_like_image(*, width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 128 + 100 * np.sin(x / max(width, 1) * 3 + seed)
    green = 128 + 100 * np.cos(y / max(height, 1) * 2)
    blue = 128 + 60 * np.sin((x + y) / max(width + height, 1) * 5)
    smooth = np.stack([red, green, blue], axis=-1)
    grain = rng.normal(0, 12, size=smooth.shape)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8), "RGB")


def animated_gif(*, frame_colors: Sequence[Color] = ("red", "blue"), width: int = 40, height: int = 30) -> bytes:
    """One solid frame per colour, first colour first."""
    frames = [Image.new("RGB", (width, height), color) for color in frame_colors]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def multi_picture_jpeg(
    *, picture_colors: Sequence[Color] = ("red", "blue"), width: int = 90, height: int = 60
) -> bytes:
    """An MPO: JPEG pictures one after the other, as some cameras write stereo pairs; readable as a plain JPEG."""
    pictures = [Image.new("RGB", (width, height), color) for color in picture_colors]
    return encode(pictures[0], image_format="MPO", save_all=True, append_images=pictures[1:])


def half_transparent(
    *, color: Color = "red", width: int = 40, height: int = 30, image_format: str = "PNG", mode: str = "RGBA"
) -> bytes:
    """`colour` on the left half, fully transparent on the right; `mode` "RGBA", "LA" or "P" (palette with a transparent index)."""
    if mode == "P":
        image = Image.new("P", (width, height), 1)
        image.putpalette([*ImageColor.getrgb(color)[:3], 0, 0, 0])
        image.paste(0, (0, 0, width // 2, height))
        return encode(image, image_format=image_format, transparency=1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (width // 2, height), color))
    return encode(image.convert(mode), image_format=image_format)


def grey_16_bit_png(*, level: int = 32768, width: int = 32, height: int = 24) -> bytes:
    """A 16-bit greyscale PNG (Pillow mode I;16) at `level` out of 65535."""
    return encode(Image.new("I;16", (width, height), level), image_format="PNG")


def truncated(*, image_format: str = "JPEG", keep: float = 0.5) -> bytes:
    """A photo-like file cut short, keeping the first `keep` fraction of its bytes."""
    data = photo_like(width=200, height=150, image_format=image_format)
    return data[: int(len(data) * keep)]


def corrupt(*, image_format: str = "PNG") -> bytes:
    """A photo-like file, complete, with damage its decoder notices."""
    data = bytearray(photo_like(width=200, height=150, image_format=image_format))
    if image_format == "GIF":
        # An LZW decoder turns scrambled codes into noise without complaint; an impossible code size it refuses.
        data[_gif_code_size_offset(data)] = 13
        return bytes(data)
    # JPEG and WebP decoders shrug off scrambled entropy-coded data (it only shows as noise);
    # scrambling the coding tables and frame header right after the signature is fatal to them.
    start = 20 if image_format in ("JPEG", "WEBP") else len(data) // 2
    for index in range(start, start + 200):
        data[index] ^= 0x5A
    return bytes(data)


def _gif_code_size_offset(data: bytes | bytearray) -> int:
    """Where the first frame's LZW code size is, in a GIF as Pillow writes a still image."""
    flags = data[10]
    global_table = 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0
    descriptor = 13 + global_table
    assert data[descriptor] == 0x2C, "expected the image descriptor straight after the colour table"
    return descriptor + 10


@cache
def decompression_bomb(*, width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid all-black 1-bit PNG: a few tens of KB that inflate to width×height pixels (400 megapixels by default)."""
    row = bytes(1 + (width + 7) // 8)  # filter byte, then zero bits
    compressor = zlib.compressobj(9)
    pixel_data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixel_data) + _png_chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A small valid PNG carrying a compressed text chunk that inflates past Pillow's limit."""
    image = solid(color="green", image_format="PNG")
    text = _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(2 * _PNG_TEXT_LIMIT), 9))
    end_of_header = 8 + 8 + 13 + 4  # signature, then IHDR's length, type, data and CRC
    return image[:end_of_header] + text + image[end_of_header:]


def webp_declaring(*, width: int, height: int) -> bytes:
    """The start of an extended WebP whose header declares a `width`×`height` canvas; no image data follows."""
    vp8x = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def gif_with_oversized_frame(*, width: int = 20_000, height: int = 10_000) -> bytes:
    """A 10×10 GIF whose first frame claims `width`×`height`; Pillow itself refuses it as a decompression bomb."""
    screen = struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"
    return b"GIF89a" + screen + frame + b";"


def _png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def scene(*, width: int = 640, height: int = 480, seed: int = 0, image_format: str = "JPEG") -> bytes:
    """Overlapping coloured shapes, softened, under grain: edges and regions as in a photograph, unlike photo_like's waves."""
    return encode(scene_image(width=width, height=height, seed=seed), image_format=image_format)


def scene_image(*, width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(canvas)
    for _ in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(rng.integers(min(width, height) // 10, min(width, height) // 3))
        box = [x - radius, y - radius, x + radius, y + radius]
        color = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
    pixels = np.asarray(canvas.filter(ImageFilter.GaussianBlur(max(width, height) / 200)), dtype=np.int16)
    grain = rng.normal(0, 6, pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8), "RGB")
