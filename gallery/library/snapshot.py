"""A per-process snapshot of the library: who may see each living image, and what it looks like.

Mosaics match thousands of cells against the whole library, and "more like this" compares one
image with all of them, so these live in numpy arrays rather than being read per request. Per
image: id, owner, public flag (17 bytes), the mosaic tile's mean CIELAB colour (12), the
perceptual hash (8) and the palette as four (x, y, z, share) colours (64): about 100 bytes,
10 MB for 100,000 images. The tiles' pixels stay in the database; a mosaic reads only those of
the tiles it uses.

Freshness: each use asks the database for its newest image id (one index lookup) and appends
what is newer; everything is read again after RELOAD_SECONDS (in the background), which picks up
deletions, visibility changes and tiles filled in for old images. Privacy never rests on the snapshot: what
is shown is read again with the viewer's visibility rule, and a snapshot that offered an image the
viewer may no longer see is thrown away (`forget_snapshot`).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Max

from gallery.library.process_copy import ProcessCopy
from gallery.models import Image, Visibility

RELOAD_SECONDS = 60.0
PALETTE_COLORS = 4


@dataclass(frozen=True, slots=True)
class Snapshot:
    ids: np.ndarray  # int64, ascending
    owner_ids: np.ndarray  # int64
    public: np.ndarray  # bool
    lab: np.ndarray  # float32 (n, 3): the mosaic tile's mean colour; NaN without a tile
    hashes: np.ndarray  # int64 perceptual hashes
    hashed: np.ndarray  # bool: has a perceptual hash
    palettes: np.ndarray  # float32 (n, PALETTE_COLORS, 4): see palette_points; unused colours have share 0
    loaded_at: float
    # What users of the snapshot derive from it and keep with it (k-d trees of tile colours, say).
    derived: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.owner_ids, self.public, self.lab, self.hashes, self.hashed, self.palettes)
        return sum(array.nbytes for array in arrays)

    @property
    def newest_id(self) -> int:
        return int(self.ids[-1]) if len(self.ids) else 0

    def visible_mask(self, viewer) -> np.ndarray:
        """The same rule as ImageQuerySet.visible_to."""
        if viewer is not None and viewer.is_authenticated and viewer.is_staff:
            return np.ones(len(self.ids), dtype=bool)
        if viewer is not None and viewer.is_authenticated:
            return self.public | (self.owner_ids == viewer.pk)
        return self.public.copy()

    def position(self, image_id: int) -> int | None:
        found = int(np.searchsorted(self.ids, image_id))
        return found if found < len(self.ids) and self.ids[found] == image_id else None


def _read_all() -> Snapshot:
    return _load(after_id=0, into=None)


_snapshot = ProcessCopy(name="library-snapshot", read_all=_read_all)


def library_snapshot() -> Snapshot:
    """The current snapshot, with what is newer than it appended.

    The first call of a process reads the whole library (a few seconds at 100,000 images); the
    full re-read every RELOAD_SECONDS happens in a thread of its own while requests go on with
    the snapshot they have, which is safe because nothing is shown on the snapshot's word alone.
    """
    with _snapshot.lock:
        if _snapshot.current is None:
            _snapshot.current = _read_all()
        elif time.monotonic() - _snapshot.current.loaded_at > RELOAD_SECONDS:
            _snapshot.reload_in_background()
        newest = Image.objects.aggregate(newest=Max("pk"))["newest"] or 0
        if newest > _snapshot.current.newest_id:
            _snapshot.current = _load(after_id=_snapshot.current.newest_id, into=_snapshot.current)
        return _snapshot.current


def forget_snapshot() -> None:
    """The next use reads the library again: for when the snapshot proved out of date."""
    _snapshot.forget()


def palette_points(palette: list[list]) -> np.ndarray:
    """An image's palette as PALETTE_COLORS rows of (x, y, z, share) in the HSV cone.

    x and y place the hue on a circle (so 355° lies next to 5°) with the colour's chroma
    (saturation × value) as its radius, z is the value: greys sit on the axis, whatever hue they
    were given. Unused rows have share 0.
    """
    points = np.zeros((PALETTE_COLORS, 4), dtype=np.float32)
    for row, (hue, saturation, value, share) in enumerate(palette[:PALETTE_COLORS]):
        chroma = saturation * value if hue is not None else 0.0
        angle = math.radians(hue or 0)
        points[row] = (chroma * math.cos(angle), chroma * math.sin(angle), value, share)
    return points


def _load(*, after_id: int, into: Snapshot | None) -> Snapshot:
    rows = list(
        Image.objects.alive()
        .filter(pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", "owner_id", "visibility", "mosaic_l", "mosaic_a", "mosaic_b", "perceptual_hash", "palette")
    )
    count = len(rows)
    parts: dict[str, np.ndarray] = {
        "ids": np.fromiter((row[0] for row in rows), dtype=np.int64, count=count),
        "owner_ids": np.fromiter((row[1] for row in rows), dtype=np.int64, count=count),
        "public": np.fromiter((row[2] == Visibility.PUBLIC for row in rows), dtype=bool, count=count),
        "lab": np.array(
            [row[3:6] if row[3] is not None else (math.nan,) * 3 for row in rows], dtype=np.float32
        ).reshape(-1, 3),
        "hashes": np.fromiter((row[6] or 0 for row in rows), dtype=np.int64, count=count),
        "hashed": np.fromiter((row[6] is not None for row in rows), dtype=bool, count=count),
        "palettes": np.stack([palette_points(row[7]) for row in rows])
        if rows
        else np.zeros((0, PALETTE_COLORS, 4), dtype=np.float32),
    }
    if into is not None:
        parts = {name: np.concatenate([getattr(into, name), part]) for name, part in parts.items()}
    return Snapshot(**parts, loaded_at=into.loaded_at if into else time.monotonic())  # type: ignore[arg-type]
