"""What a mosaic needs of each image, computed once at ingest from the already decoded thumbnail.

Pure (no Django): it runs in the ingest pool's worker processes.

A tile is the thumbnail's centred square, reduced to TILE_SIDE px and kept as raw RGB bytes
(768 bytes): a mosaic then pastes the chosen tiles without decoding a single JPEG, and the
matching only needs the tile's mean colour in CIELAB, where Euclidean distance follows how
different two colours look far better than in RGB.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

TILE_SIDE = 16
TILE_BYTES = TILE_SIDE * TILE_SIDE * 3

# sRGB (D65) to CIE XYZ, and the D65 white point the Lab formulas divide by.
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPSILON = 216 / 24389
_KAPPA = 24389 / 27


@dataclass(frozen=True, slots=True)
class MosaicTile:
    pixels: bytes  # TILE_SIDE x TILE_SIDE raw RGB
    lab: tuple[float, float, float]  # their mean colour in CIELAB


def mosaic_tile(thumbnail: Image.Image) -> MosaicTile:
    pixels = square_pixels(thumbnail)
    return MosaicTile(pixels=pixels, lab=mean_lab(pixels))


def square_pixels(thumbnail: Image.Image) -> bytes:
    """The centred square of an RGB image, TILE_SIDE px a side, as raw RGB bytes."""
    width, height = thumbnail.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = thumbnail.crop((left, top, left + side, top + side))
    return square.resize((TILE_SIDE, TILE_SIDE), Image.Resampling.BOX).tobytes()


def tile_pixels(tile: bytes) -> np.ndarray:
    return np.frombuffer(tile, dtype=np.uint8).reshape(TILE_SIDE, TILE_SIDE, 3)


def mean_lab(tile: bytes) -> tuple[float, float, float]:
    """The tile's mean colour in CIELAB: the mean of its pixels' Lab values, not the Lab of their mean RGB."""
    lab = rgb_to_lab(tile_pixels(tile).reshape(-1, 3)).mean(axis=0)
    return float(lab[0]), float(lab[1]), float(lab[2])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of 8-bit sRGB colours, shape (..., 3) in, the same shape out."""
    unit = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    return np.stack([lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)
