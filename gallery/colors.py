"""Dominant colours of an image: what the gallery is browsed by.

Pure (no Django): it runs in the ingest pool's worker processes.
"""

import colorsys
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

MAX_COLORS = 4

# The colours a viewer sees survive a downsample to this size; k-means cost grows with it.
_SAMPLE_SIDE = 64
# Pixels are grouped into 32 levels per channel before clustering, each group weighted by its
# pixel count: k-means then sees a few hundred points instead of ~4000 at no visible cost in
# accuracy (a group is ~3% of the range wide and is represented by its exact mean), which halves
# the clustering time. An image with no more groups than colours asked for needs no clustering.
_CHANNEL_BITS = 5
# Lloyd's iterations converge within 20 for 99% of the benchmark photos; the cap bounds the worst case.
_MAX_ITERATIONS = 30
# Centres closer than this in the unit RGB cube (13 of 255 along one channel) are one colour split in two.
_MERGE_DISTANCE = 0.05
# Slivers below this share are mostly anti-aliased edges blending two real colours.
_MIN_SHARE = 0.02
# Below these a colour reads as grey, white or black whatever its nominal hue.
_MIN_SATURATION = 0.2
_MIN_VALUE = 0.2

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
    hue: int | None  # 0–359 degrees; None for a boring colour (near white, near black or grey)
    saturation: float  # 0–1
    value: float  # 0–1
    share: float  # 0–1 of all the image's pixels


def pin_native_threads() -> None:
    """One native (BLAS/OpenMP) thread per process: ingest already runs a process per core.

    Unpinned, k-means on a busy machine goes from 4 ms p90 to 90 ms as its threads wait for each
    other. Limits are set once here, for the whole process, because entering threadpool_limits
    per call costs about 1 ms. The environment variables reach libraries loaded later and child
    processes; threadpool_limits reaches the ones already loaded.
    """
    for variable in _THREAD_COUNT_VARIABLES:
        os.environ.setdefault(variable, "1")
    threadpool_limits(limits=1)


def dominant_colors(image: Image.Image, *, max_colors: int = MAX_COLORS) -> list[DominantColor]:
    """Up to `max_colours` colours, largest share first; shares are fractions of all pixels.

    Boring colours are listed too, with `hue=None`, so the shares tell how colourful the image is.
    Deterministic for a given image.
    """
    pixels = _sample_pixels(image)
    centres, counts = _color_groups(pixels)
    if len(centres) > max_colors:
        centres, counts = _cluster(centres, counts, n_clusters=max_colors)
    centres, counts = _merge_near_identical(centres, counts)
    shares = counts / len(pixels)
    largest_first = np.argsort(-shares, kind="stable")
    return [
        _describe(centres[index], share=float(shares[index])) for index in largest_first if shares[index] >= _MIN_SHARE
    ]


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


def _color_groups(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean colour (0–1 floats) and pixel count of each occupied group of similar colours."""
    levels = pixels >> (8 - _CHANNEL_BITS)
    group = (
        (levels[:, 0].astype(np.int32) << (2 * _CHANNEL_BITS))
        | (levels[:, 1].astype(np.int32) << _CHANNEL_BITS)
        | levels[:, 2]
    )
    group_count = 1 << (3 * _CHANNEL_BITS)
    counts = np.bincount(group, minlength=group_count)
    occupied = np.flatnonzero(counts)
    sums = np.stack(
        [np.bincount(group, weights=pixels[:, channel], minlength=group_count)[occupied] for channel in range(3)],
        axis=1,
    )
    return sums / counts[occupied, None] / 255, counts[occupied].astype(np.float64)


def _cluster(points: np.ndarray, weights: np.ndarray, *, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    # The points are distinct group means and there are more of them than clusters, so k-means
    # never meets the "fewer distinct points than clusters" case it warns about.
    initial = _spread_seeds(points, weights, count=n_clusters)
    kmeans = KMeans(n_clusters=n_clusters, init=initial, n_init=1, max_iter=_MAX_ITERATIONS)
    kmeans.fit(points, sample_weight=weights)
    cluster_weights = np.bincount(kmeans.labels_, weights=weights, minlength=n_clusters)
    return kmeans.cluster_centers_, cluster_weights


def _spread_seeds(points: np.ndarray, weights: np.ndarray, *, count: int) -> np.ndarray:
    """Starting centres: the heaviest group, then each time the group with the most weight × squared distance to the nearest seed.

    A deterministic k-means++: on the benchmark photos Lloyd's iterations end as close to the
    data (inertia within 0.1 %) as from scikit-learn's randomised k-means++ seeding, which costs
    a third of the clustering time in input checks alone.
    """
    chosen = [int(np.argmax(weights))]
    nearest = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < count:
        chosen.append(int(np.argmax(weights * nearest)))
        nearest = np.minimum(nearest, ((points - points[chosen[-1]]) ** 2).sum(axis=1))
    return points[chosen]


def _merge_near_identical(centres: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    merged_centres: list[np.ndarray] = []
    merged_counts: list[float] = []
    for index in np.argsort(-counts, kind="stable"):
        centre, count = centres[index], counts[index]
        for kept, kept_centre in enumerate(merged_centres):
            if np.linalg.norm(kept_centre - centre) < _MERGE_DISTANCE:
                total = merged_counts[kept] + count
                merged_centres[kept] = (kept_centre * merged_counts[kept] + centre * count) / total
                merged_counts[kept] = total
                break
        else:
            merged_centres.append(centre)
            merged_counts.append(count)
    return np.array(merged_centres), np.array(merged_counts)


def _describe(rgb: np.ndarray, *, share: float) -> DominantColor:
    hue, saturation, value = colorsys.rgb_to_hsv(*(float(channel) for channel in rgb))
    boring = saturation < _MIN_SATURATION or value < _MIN_VALUE
    return DominantColor(
        hue=None if boring else round(hue * 360) % 360,
        saturation=saturation,
        value=value,
        share=share,
    )
