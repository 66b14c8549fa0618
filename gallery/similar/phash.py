"""A 64-bit perceptual hash (pHash): the same picture resized or re-encoded keeps nearly the same bits.

Pure (no Django): it runs in the ingest pool's worker processes.

This is the DCT hash that `imagehash.phash` computes (greyscale, 32 px square, 2-D DCT-II, the
8 x 8 lowest frequencies compared with their median), written with numpy: a 32 x 32 DCT is two
products with one fixed matrix, so the library and the packages it pulls in (SciPy, PyWavelets)
would buy nothing here but install size. It starts from the thumbnail ingest has already decoded,
and shrinks it with a box filter rather than imagehash's Lanczos (0.3 ms instead of 1.6 ms from
400 px; the 32 px average feeds a low-pass transform anyway).

Measured on 500 benchmark photos against copies scaled to 60 % and re-encoded as JPEG q60: the
median copy differs by 0 bits, 90 % by at most 4, 96 % by at most NEAR_DUPLICATE_BITS (flat,
featureless pictures such as fog or sky differ more); 4 % of the distinct photos have another
within that distance, mostly crops of one scene.
"""

import numpy as np
from PIL import Image

HASH_BITS = 64
# At most this many differing bits make two images near-duplicates: see the module docstring.
NEAR_DUPLICATE_BITS = 8
_SAMPLE_SIDE = 32
_KEPT_SIDE = 8


def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: `matrix @ signal` is the signal's DCT."""
    frequencies = np.arange(size)[:, None]
    positions = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * positions + 1) * frequencies / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(_SAMPLE_SIDE)


def perceptual_hash(image: Image.Image) -> int:
    """The hash as a signed 64-bit integer, which is how the database stores it."""
    small = image.resize((_SAMPLE_SIDE, _SAMPLE_SIDE), Image.Resampling.BOX).convert("L")
    grey = np.asarray(small, dtype=float)
    low = (_DCT @ grey @ _DCT.T)[:_KEPT_SIDE, :_KEPT_SIDE]
    bits = (low > np.median(low)).ravel()
    unsigned = int.from_bytes(np.packbits(bits).tobytes(), "big")
    return unsigned - (1 << HASH_BITS) if unsigned >= 1 << (HASH_BITS - 1) else unsigned


def hamming_distances(hashes: np.ndarray, target: int) -> np.ndarray:
    """Bits that differ between each of `hashes` (int64) and `target`."""
    return np.bitwise_count(hashes ^ np.int64(target))
