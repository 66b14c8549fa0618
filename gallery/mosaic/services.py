"""Building a photomosaic for a viewer, and keeping it until the library changes enough to matter.

Cache rule: a mosaic is kept per (image, grid, cell size, viewer group) in the `mosaics` cache
and served again while (1) every tile it shows is still alive and visible to the viewer (one
query on their ids: a tile deleted or made private is never served from the cache either), and
(2) the number of tiles the viewer may use has changed by at most REBUILD_CHANGE of what it was
(5 %: a handful of uploads into a library of hundreds barely moves the best matches, while a
library that doubled or halved gives visibly different ones). The source picture never changes
(its row stores its content), so it needs no rule of its own.
"""

import time
from dataclasses import dataclass

import numpy as np
from django.core.cache import caches
from scipy.spatial import cKDTree

from gallery.library.snapshot import Snapshot, forget_snapshot, library_snapshot
from gallery.models import Image
from gallery.mosaic import render
from gallery.mosaic.tiles import TILE_SIDE
from gallery.thumbnails import decode_thumbnail

DEFAULT_COLUMNS, MIN_COLUMNS, MAX_COLUMNS = 48, 16, 128
DEFAULT_CELL_PX, MIN_CELL_PX, MAX_CELL_PX = 16, 8, 32
REBUILD_CHANGE = 0.05
CACHE_ALIAS = "mosaics"
# k-d trees kept per snapshot: one per viewer group (public, staff, each user) that asked lately.
MAX_TREES = 32


class MosaicUnavailable(Exception):
    """No image the viewer may see has a tile yet (other than the picture itself)."""


@dataclass(frozen=True, slots=True)
class Mosaic:
    jpeg: bytes
    grid: tuple[tuple[int, ...], ...]  # the image id of each cell's tile, row by row
    tiles_available: int  # images the viewer may see that could be tiles
    made_at: float  # time.time() when it was made

    @property
    def cells(self) -> int:
        return len(self.grid) * len(self.grid[0])

    @property
    def tile_ids(self) -> tuple[int, ...]:
        """The distinct images in the picture, ascending."""
        return tuple(sorted({image_id for row in self.grid for image_id in row}))


def tiles_available(*, viewer, image_id: int) -> int:
    """How many images could be tiles of a mosaic of `image_id` for this viewer."""
    snapshot = library_snapshot()
    return int(np.count_nonzero(_tile_mask(snapshot, viewer=viewer) & (snapshot.ids != image_id)))


def get_mosaic(*, viewer, image: Image, columns: int, cell_px: int) -> Mosaic:
    """`image` is one the viewer may see, with its thumbnail; raises MosaicUnavailable when there are no tiles."""
    cache = caches[CACHE_ALIAS]
    key = f"mosaic:{image.pk}:{columns}:{cell_px}:{viewer_group(viewer)}"
    cached: Mosaic | None = cache.get(key)
    if cached is not None and _still_fresh(cached, viewer=viewer, image_id=image.pk):
        return cached
    mosaic = _build(viewer=viewer, image=image, columns=columns, cell_px=cell_px)
    cache.set(key, mosaic, timeout=None)
    return mosaic


def default_rows(image: Image) -> int:
    return render.grid_rows(width=image.thumbnail_width, height=image.thumbnail_height, columns=DEFAULT_COLUMNS)


def viewer_group(viewer) -> str:
    """Viewers who may see the same images share mosaics."""
    if viewer is None or not viewer.is_authenticated:
        return "public"
    return "staff" if viewer.is_staff else f"user-{viewer.pk}"


def _still_fresh(cached: Mosaic, *, viewer, image_id: int) -> bool:
    available = tiles_available(viewer=viewer, image_id=image_id)
    if abs(available - cached.tiles_available) > REBUILD_CHANGE * cached.tiles_available:
        return False
    visible = Image.objects.visible_to(viewer).alive().filter(pk__in=cached.tile_ids).count()
    return visible == len(cached.tile_ids)


def _tile_mask(snapshot: Snapshot, *, viewer) -> np.ndarray:
    return snapshot.visible_mask(viewer) & ~np.isnan(snapshot.lab[:, 0])


def _build(*, viewer, image: Image, columns: int, cell_px: int) -> Mosaic:
    picture = decode_thumbnail(bytes(image.thumbnail))
    rows = render.grid_rows(width=image.thumbnail_width, height=image.thumbnail_height, columns=columns)
    cells = render.cell_colors(picture, columns=columns, rows=rows)
    # A snapshot older than the library may offer a tile the viewer can no longer see; the pixels
    # are read with the visibility rule, and a shortfall means a fresh snapshot and a new choice.
    for _attempt in range(2):
        snapshot = library_snapshot()
        candidate_ids, tree, lab = _tree_for(snapshot, viewer=viewer)
        own = np.flatnonzero(candidate_ids == image.pk)
        excluded = int(own[0]) if own.size else None
        if len(candidate_ids) - (excluded is not None) == 0:
            raise MosaicUnavailable("a mosaic needs more images: no other image you may see has a tile yet")
        grid = render.assign_tiles(cells, tree=tree, tile_lab=lab, excluded=excluded, seed=image.pk)
        used = np.unique(grid)
        pixels = _tile_pixels(viewer=viewer, image_ids=candidate_ids[used].tolist())
        if len(pixels) == len(used):
            break
        forget_snapshot()
    else:
        raise MosaicUnavailable("the library changed while the mosaic was being made; try again")
    tiles = np.stack([pixels[int(image_id)] for image_id in candidate_ids[used]])
    return Mosaic(
        jpeg=render.compose(np.searchsorted(used, grid), tiles=tiles, cell_px=cell_px),
        grid=tuple(tuple(row) for row in candidate_ids[grid].tolist()),
        tiles_available=len(candidate_ids) - (excluded is not None),
        made_at=time.time(),
    )


def _tree_for(snapshot: Snapshot, *, viewer) -> tuple[np.ndarray, cKDTree, np.ndarray]:
    """The tiles the viewer may see and a k-d tree of their colours, kept with the snapshot per viewer group."""
    key = ("mosaic-tree", viewer_group(viewer))
    if key not in snapshot.derived:
        if len(snapshot.derived) >= MAX_TREES:
            snapshot.derived.clear()
        mask = _tile_mask(snapshot, viewer=viewer)
        lab = snapshot.lab[mask]
        snapshot.derived[key] = (snapshot.ids[mask], cKDTree(lab if len(lab) else np.zeros((1, 3))), lab)
    return snapshot.derived[key]


def _tile_pixels(*, viewer, image_ids: list[int]) -> dict[int, np.ndarray]:
    rows = (
        Image.objects.visible_to(viewer)
        .alive()
        .filter(pk__in=image_ids, mosaic_tile__isnull=False)
        .values_list("pk", "mosaic_tile")
    )
    return {pk: np.frombuffer(bytes(tile), dtype=np.uint8).reshape(TILE_SIDE, TILE_SIDE, 3) for pk, tile in rows}
