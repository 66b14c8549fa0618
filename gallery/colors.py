"""Dominant colours of an image: what the gallery is browsed by.

Pure (no Django): it runs in the ingest pool's worker processes.

A pixel is colourful when its CIELAB chroma (distance from the grey of the same lightness, which is
how a person judges colourfulness) is at least 20; the rest reads as grey, white or black whatever
its nominal HSV saturation. Hues are HSV hues, the slider's. An image truly has hue H when at least
10% of its pixels are colourful and within ±15° of H: the hued colours listed here are placed so
that the scroller's rule (a colour within ±15° of H covering at least 10%) finds exactly those hues,
as nearly as a few ±15° windows can draw them. Each hued colour's share counts the colourful pixels
within ±15° of its hue, not the size of a cluster, so it is the share the rule promises.
"""

import functools
import io
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms
from threadpoolctl import threadpool_limits

# Colours with a hue (they index the scroller) and, after them, grey bands (dark and light).
MAX_HUED_COLORS = 6
MAX_COLORS = MAX_HUED_COLORS + 2
# The scroller's defaults (settings.SCROLLER_HUE_MARGIN and SCROLLER_MIN_MATCH_SHARE): the hued
# colours are placed for them.
HUE_WINDOW = 15
MATCH_SHARE = 0.1
# CIELAB chroma from which a colour is seen as a colour rather than as a tinted grey.
MIN_CHROMA = 20.0

# The colours a viewer sees survive a box-filtered downsample to this size: on the benchmark
# photos the share of each hue on the sample agrees with the full-size photo's for 99.6% of
# (photo, hue) pairs.
_SAMPLE_SIDE = 64
# Colours below this share are mostly anti-aliased edges blending two real colours.
_MIN_SHARE = 0.02
# Hued colours weaker than the match share are listed for the palette only if no listed hue is this near.
_MIN_SEPARATION = 30
_SEPARATION_OFFSETS = np.arange(-_MIN_SEPARATION, _MIN_SEPARATION + 1)
# A run of matching degrees up to this much wider than one window gets one colour in its middle, not two nearly on top of each other.
_COVER_SLACK = 6
# Grey pixels darker than this CIELAB lightness are the dark band, the rest the light one.
_DARK_LIGHTNESS = 40.0

logger = logging.getLogger(__name__)

# Modes whose embedded profile is honoured; others (greyscale, palette) are converted as they are.
_MANAGED_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}
_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# A profile whose primaries lie this near sRGB's (in CIE XYZ) and that calls itself sRGB is sRGB.
_SRGB_COLORANT_TOLERANCE = 0.003
# Cameras and editors embed the same few profiles again and again; building a transform takes
# a few milliseconds, applying one to a thumbnail-sized image about as much.
_TRANSFORM_CACHE_SIZE = 16

_CHANNEL_LEVELS = np.arange(256) / 255
# sRGB's transfer function, then its primaries to CIE XYZ scaled by the D65 white: CIELAB's inputs.
_LINEAR_LEVELS = np.where(
    _CHANNEL_LEVELS <= 0.04045, _CHANNEL_LEVELS / 12.92, ((_CHANNEL_LEVELS + 0.055) / 1.055) ** 2.4
)
_LINEAR_TO_WHITE_SCALED_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
) / np.array([[0.95047], [1.0], [1.08883]])
_LAB_EPSILON = (6 / 29) ** 3

_THREAD_COUNT_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass(frozen=True, slots=True)
class DominantColor:
    hue: int | None  # 0–359 degrees; None for a grey band (white, grey or black: chroma under MIN_CHROMA)
    saturation: float  # 0–1
    value: float  # 0–1
    share: float  # 0–1 of all the image's pixels: for a hued colour, the colourful ones within ±HUE_WINDOW of it


def pin_native_threads() -> None:
    """One native (BLAS/OpenMP) thread per process: ingest already runs a process per core.

    Unpinned, native code on a busy machine waits for its own threads (k-means, which found the
    colours before, went from 4 ms p90 to 90 ms). Limits are set once here, for the whole process, because entering threadpool_limits
    per call costs about 1 ms. The environment variables reach libraries loaded later and child
    processes; threadpool_limits reaches the ones already loaded.
    """
    for variable in _THREAD_COUNT_VARIABLES:
        os.environ.setdefault(variable, "1")
    threadpool_limits(limits=1)


def dominant_colors(image: Image.Image, *, max_colors: int = MAX_COLORS) -> list[DominantColor]:
    """Up to `max_colours` colours, largest share first; hued colours before grey bands when trimming.

    Grey bands are listed with `hue=None`, so the shares tell how colourful the image is. Hued
    colours' windows may overlap (a wide band of hues is drawn by several), so shares can add up
    to more than 1. Deterministic for a given image.
    """
    pixels = _sample_pixels(image)
    hue, saturation, value = _hsv(pixels)
    lightness, chroma = _lightness_and_chroma(pixels)
    colorful = chroma >= MIN_CHROMA
    degrees = np.rint(hue).astype(np.int64) % 360
    histogram = np.bincount(degrees[colorful], minlength=360)
    window_shares = _window_shares(histogram, pixel_count=len(pixels))
    hued = [
        _hued_color(
            centre,
            near=colorful & (_hue_distances(degrees, centre) <= HUE_WINDOW),
            saturation=saturation,
            value=value,
            share=float(window_shares[centre]),
        )
        for centre in _placed_hues(window_shares, histogram=histogram)[:max_colors]
    ]
    greys = [
        _grey_color(band, saturation=saturation, value=value)
        for band in (~colorful & (lightness < _DARK_LIGHTNESS), ~colorful & (lightness >= _DARK_LIGHTNESS))
        if band.mean() >= _MIN_SHARE
    ]
    kept = hued + greys[: max(max_colors - len(hued), 0)]
    return sorted(kept, key=lambda color: -color.share)


def to_srgb(image: Image.Image) -> Image.Image:
    """The image with its pixels converted to sRGB through its embedded ICC profile, as a colour-managed viewer shows it.

    Without a profile, or with an sRGB one, the image itself (no cost). A profile that cannot be
    read or used is ignored with a warning: the pixels are then taken as sRGB, as before.
    """
    embedded = image.info.get("icc_profile")
    output_mode = _MANAGED_MODES.get(image.mode)
    if not embedded or output_mode is None:
        return image
    try:
        transform = _transform_to_srgb(embedded, input_mode=image.mode, output_mode=output_mode)
        if transform is None:
            return image
        return transform.apply(image)
    except (ImageCms.PyCMSError, OSError, ValueError) as error:
        logger.warning("ignoring an unusable embedded ICC profile (%s image): %s", image.mode, error)
        return image


@functools.lru_cache(maxsize=_TRANSFORM_CACHE_SIZE)
def _transform_to_srgb(embedded: bytes, *, input_mode: str, output_mode: str) -> ImageCms.ImageCmsTransform | None:
    """None for an sRGB profile: those images are already what the gallery wants."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
    if _is_srgb(profile.profile):
        return None
    return ImageCms.buildTransform(profile, _SRGB_PROFILE, input_mode, output_mode)


def _is_srgb(profile: ImageCms.core.CmsProfile) -> bool:
    if profile.xcolor_space.strip() != "RGB" or "srgb" not in (profile.profile_description or "").lower():
        return False
    reference = _SRGB_PROFILE.profile
    colorants = ("red_colorant", "green_colorant", "blue_colorant")
    return all(
        np.allclose(getattr(profile, name)[0], getattr(reference, name)[0], atol=_SRGB_COLORANT_TOLERANCE)
        for name in colorants
    )


def is_monochrome(colors: Iterable[DominantColor]) -> bool:
    return all(color.hue is None for color in colors)


def hue_distance(a: int, b: int) -> int:
    """Degrees between two hues the short way round the circle: 355° is 10° from 5°."""
    difference = abs(a - b) % 360
    return min(difference, 360 - difference)


def _sample_pixels(image: Image.Image) -> np.ndarray:
    """(n, 3) uint8 RGB of a box-filtered downsample, so every source pixel counts."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    factor = math.ceil(max(image.size) / _SAMPLE_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    return np.asarray(image).reshape(-1, 3)


def _hsv(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HSV hue in degrees, saturation and value (0–1) of each pixel."""
    rgb = pixels.astype(np.float64) / 255
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    value = rgb.max(axis=1)
    spread = value - rgb.min(axis=1)
    divisor = np.where(spread == 0, 1, spread)
    sector = np.where(
        value == red,
        ((green - blue) / divisor) % 6,
        np.where(value == green, (blue - red) / divisor + 2, (red - green) / divisor + 4),
    )
    saturation = spread / np.where(value == 0, 1, value)
    return sector * 60, saturation, value


def _lightness_and_chroma(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB L* and C*ab (D65) of each sRGB pixel."""
    xyz = _LINEAR_LEVELS[pixels] @ _LINEAR_TO_WHITE_SCALED_XYZ.T
    f = np.where(xyz > _LAB_EPSILON, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[:, 1] - 16, np.hypot(500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2]))


def _window_shares(histogram: np.ndarray, *, pixel_count: int) -> np.ndarray:
    """For each whole degree, the share of all pixels, among those counted by degree in `histogram`, within ±HUE_WINDOW of it."""
    wrapped = np.concatenate([histogram[-HUE_WINDOW:], histogram, histogram[:HUE_WINDOW]])
    running = np.concatenate([[0], np.cumsum(wrapped)])
    width = 2 * HUE_WINDOW + 1
    return (running[width:] - running[:-width]) / pixel_count


def _placed_hues(window_shares: np.ndarray, *, histogram: np.ndarray) -> list[int]:
    """Hues whose ±HUE_WINDOW windows draw the degrees with a match share, then the strongest other hues.

    Placing colours at cluster centres or histogram peaks matched 15° beyond where a colour truly
    ends and missed the shoulders of wide bands (precision 0.82, recall 0.72 on the benchmark).
    """
    placed = _covering_hues(window_shares >= MATCH_SHARE)[:MAX_HUED_COLORS]
    strongest = np.argsort(-window_shares, kind="stable")
    strongest = strongest[window_shares[strongest] >= _MIN_SHARE]
    near_placed = np.zeros(360, dtype=bool)
    for hue in placed:
        near_placed[(hue + _SEPARATION_OFFSETS) % 360] = True
    for centre in _mean_hues_near(strongest, histogram=histogram):
        if len(placed) >= MAX_HUED_COLORS:
            break
        if not near_placed[centre]:
            placed.append(centre)
            near_placed[(centre + _SEPARATION_OFFSETS) % 360] = True
    return placed


def _mean_hues_near(centres: np.ndarray, *, histogram: np.ndarray) -> list[int]:
    """For each centre, the mean hue of the pixels within ±HUE_WINDOW of it: the middle of a flat colour, not its window's edge.

    All at once, because an image with many weak hues tries dozens of centres (2 ms one by one).
    """
    offsets = np.arange(-HUE_WINDOW, HUE_WINDOW + 1)
    counts = histogram[(centres[:, None] + offsets) % 360]
    means = centres + (counts @ offsets) / counts.sum(axis=1)
    return [int(hue) % 360 for hue in np.rint(means)]


def _covering_hues(matching: np.ndarray) -> list[int]:
    """Fewest hues whose windows lie inside each run of matching degrees and cover it; a short run gets its middle."""
    if matching.all():
        return list(range(0, 360, 2 * HUE_WINDOW))
    if not matching.any():
        return []
    first_gap = int(np.flatnonzero(~matching)[0])
    hues: list[int] = []
    run: list[int] = []
    for degree in [*((np.arange(360) + first_gap) % 360), first_gap]:
        if matching[degree]:
            run.append(int(degree))
        elif run:
            hues.extend(_covering_run(run))
            run = []
    return hues


def _covering_run(run: list[int]) -> list[int]:
    span = len(run) - 1
    if span <= 2 * HUE_WINDOW + _COVER_SLACK:
        return [run[span // 2]]
    count = math.ceil((span - 2 * HUE_WINDOW) / (2 * HUE_WINDOW)) + 1
    step = (span - 2 * HUE_WINDOW) / (count - 1)
    return [run[HUE_WINDOW + round(index * step)] for index in range(count)]


def _hue_distances(degrees: np.ndarray, centre: int) -> np.ndarray:
    difference = np.abs(degrees - centre) % 360
    return np.minimum(difference, 360 - difference)


def _hued_color(
    centre: int, *, near: np.ndarray, saturation: np.ndarray, value: np.ndarray, share: float
) -> DominantColor:
    return DominantColor(
        hue=centre, saturation=float(saturation[near].mean()), value=float(value[near].mean()), share=share
    )


def _grey_color(band: np.ndarray, *, saturation: np.ndarray, value: np.ndarray) -> DominantColor:
    return DominantColor(
        hue=None, saturation=float(saturation[band].mean()), value=float(value[band].mean()), share=float(band.mean())
    )
