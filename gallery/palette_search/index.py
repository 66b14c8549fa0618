"""A per-process array of every image's hued colours, which palette searches score in numpy.

Scoring in the database meant reading every colour row within reach of each asked hue: for a
common hue at a weight of 20%, a sixth of a large catalogue's colour index per asked colour
(p95 2.5 s at 100,000 images on MariaDB). Here the same arithmetic runs over arrays of about
40 bytes a colour row, 10 MB at 100,000 images, in a few milliseconds.

The index holds images whatever their visibility and deletion: it only proposes candidates in
the order of their scores, and whether the viewer may see them (alive, public or their own) is
always asked of the database (gallery.palette_search.selectors, gallery.realtime.load_images).
So a deletion, a restore or a change of visibility counts at once. What the index may lag on:

- images newer than it: each use asks the database for its newest image id (one primary-key
  lookup) and appends the colours of what is newer, so a committed upload is found by the
  next search;
- colours rewritten in place (`manage.py reanalyse_colors`), purged images, and an upload whose
  transaction committed after one with a higher id had been appended: all of it is read
  again every RELOAD_SECONDS, in the background, while searches go on with the index they have.

The newest image the index knows is also checked to be the same image (its creation time): a
database emptied and filled again (as between tests) gives its ids anew, and is read again whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection

from gallery.library.process_copy import ProcessCopy
from gallery.models import DominantColor, Image
from gallery.palette_search.query import AskedColor
from gallery.palette_search.ranking import CANDIDATE_FRACTION, HUE_REACH, TONE_TOLERANCE
from gallery.ranking_keys import image_ids_of, key_of, ranking_keys, scores_of
from gallery.selectors import hue_ranges

RELOAD_SECONDS = 60.0
# Scores are compared to six decimals, so that a page's cursor (score:id) finds its place exactly.
SCORE_SCALE = 1_000_000


@dataclass(frozen=True, slots=True)
class PaletteIndex:
    # The hued colour rows, ordered by hue, so that the rows within reach of an asked hue are one
    # or two slices (hue_starts[h] is the first row of hue h).
    hues: np.ndarray  # int16, 0–359
    positions: np.ndarray  # int64: the row's image, as its place in image_ids
    saturations: np.ndarray  # float64, 0–1
    values: np.ndarray  # float64, 0–1
    shares: np.ndarray  # float64, 0–1
    hue_starts: np.ndarray  # int64, 361 entries
    image_ids: np.ndarray  # int64: the images with a hued colour, ascending
    owner_ids: np.ndarray  # int64, per image of image_ids
    newest_id: int  # the newest image when read, with or without hued colours
    newest_created: object  # as the database driver gives it: compared with itself only
    loaded_at: float

    @property
    def nbytes(self) -> int:
        arrays = (self.hues, self.positions, self.saturations, self.values, self.shares, self.hue_starts)
        return sum(array.nbytes for array in (*arrays, self.image_ids, self.owner_ids))


@dataclass(frozen=True, slots=True)
class Ranking:
    """Candidates, best first: score (to six decimals) descending, then image id descending."""

    image_ids: np.ndarray  # int64
    scores: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.image_ids)


def _read_all() -> PaletteIndex:
    return _load(after_id=0, into=None)


_index = ProcessCopy(name="palette-index", read_all=_read_all)


def palette_index() -> PaletteIndex:
    """The current index, with newer images appended; read whole on first use and when the database was refilled."""
    with _index.lock:
        index = _index.current
        newest_id, _, known_created = _newest_image(known_id=index.newest_id if index else 0)
        if index is None or newest_id < index.newest_id or known_created != index.newest_created:
            index = _read_all()
        elif time.monotonic() - index.loaded_at > RELOAD_SECONDS:
            _index.reload_in_background()
        if newest_id > index.newest_id:
            index = _load(after_id=index.newest_id, into=index)
        _index.current = index
        return index


def forget_palette_index() -> None:
    _index.forget()


def candidate_keys(index: PaletteIndex, *, asked: Sequence[AskedColor], owner_id: int | None = None) -> np.ndarray:
    """The candidates' scores, the arithmetic of ranking.palette_score over the colours that make them candidates.

    Only images with a colour within reach of an asked hue that holds at least CANDIDATE_FRACTION
    of its weight are candidates, and an asked colour's coverage comes from such colours alone.
    With `owner_id`, only that owner's images. Each candidate is one key (gallery.ranking_keys) of
    its score to six decimals.
    """
    total_weight = sum(color.weight for color in asked)
    scores = np.zeros(len(index.image_ids))
    candidate = np.zeros(len(index.image_ids), dtype=bool)
    for color in asked:
        coverage = _coverages(index, color=color)
        qualified = np.flatnonzero(coverage >= 0)
        held = coverage[qualified]
        candidate[qualified] = True
        scores[qualified] += color.weight * np.minimum(held, color.weight) / np.maximum(held, color.weight)
    chosen = np.flatnonzero(candidate)
    if owner_id is not None:
        chosen = chosen[index.owner_ids[chosen] == owner_id]
    rounded = np.round(scores[chosen] / total_weight * SCORE_SCALE).astype(np.int64)
    return ranking_keys(scores=rounded, image_ids=index.image_ids[chosen])


def best(keys: np.ndarray, *, after: tuple[float, int] | None = None, count: int | None = None) -> Ranking:
    """The best `count` candidates (all without it) ranked after `after` (score, id), best first."""
    if after is not None:
        keys = keys[keys < key_of(score=round(after[0] * SCORE_SCALE), image_id=after[1])]
    if count is not None and count < len(keys):
        keys = keys[np.argpartition(-keys, count - 1)[:count]]
    keys = -np.sort(-keys)
    return Ranking(image_ids=image_ids_of(keys), scores=scores_of(keys) / SCORE_SCALE)


def _coverages(index: PaletteIndex, *, color: AskedColor) -> np.ndarray:
    """Per image of the index: the most any of its qualifying colours holds near `color`, or -1 without one."""
    coverage = np.full(len(index.image_ids), -1.0)
    for low, high in hue_ranges(hue=color.hue, margin=HUE_REACH - 1):
        window = slice(index.hue_starts[low], index.hue_starts[high + 1])
        qualifies = index.shares[window] >= color.weight * CANDIDATE_FRACTION
        difference = np.abs(index.hues[window][qualifies].astype(np.int64) - color.hue)
        held = index.shares[window][qualifies] * (1 - np.minimum(difference, 360 - difference) / HUE_REACH)
        for tones, asked_tone in ((index.saturations, color.saturation), (index.values, color.value)):
            if asked_tone is not None:
                held *= np.maximum(0.0, 1 - np.abs(tones[window][qualifies] - asked_tone) / TONE_TOLERANCE)
        np.maximum.at(coverage, index.positions[window][qualifies], held)
    return coverage


def _newest_image(*, known_id: int) -> tuple[int, object, object]:
    """The newest image's id and creation time, and the creation time of image `known_id` (None if gone), in one query."""
    images = Image._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, created_at FROM (SELECT id, created_at FROM {images} ORDER BY id DESC LIMIT 1) newest "
            f"UNION ALL SELECT id, created_at FROM {images} WHERE id = %s",
            [known_id],
        )
        rows = cursor.fetchall()
    newest_id, newest_created = rows[0] if rows else (0, None)
    known = [created for image_id, created in rows if image_id == known_id]
    return newest_id, newest_created, known[0] if known else None


def _load(*, after_id: int, into: PaletteIndex | None) -> PaletteIndex:
    newest_id, newest_created, _ = _newest_image(known_id=0)
    colors = DominantColor._meta.db_table
    images = Image._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.image_id, c.hue, c.saturation, c.value, c.share, i.owner_id FROM {colors} c "
            f"INNER JOIN {images} i ON i.id = c.image_id "
            "WHERE c.hue IS NOT NULL AND c.image_id > %s AND c.image_id <= %s ORDER BY c.image_id",
            [after_id, newest_id],
        )
        table = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 6)
    row_images = table[:, 0].astype(np.int64)
    first_rows = np.flatnonzero(np.r_[True, row_images[1:] != row_images[:-1]]) if len(table) else np.zeros(0, int)
    image_ids = row_images[first_rows]
    rows: dict[str, np.ndarray] = {
        "hues": table[:, 1].astype(np.int16),
        "positions": np.searchsorted(image_ids, row_images).astype(np.int64),
        "saturations": table[:, 2],
        "values": table[:, 3],
        "shares": table[:, 4],
    }
    owner_ids = table[first_rows, 5].astype(np.int64)
    if into is not None:
        rows["positions"] += len(into.image_ids)
        rows = {name: np.concatenate([getattr(into, name), part]) for name, part in rows.items()}
        image_ids = np.concatenate([into.image_ids, image_ids])
        owner_ids = np.concatenate([into.owner_ids, owner_ids])
    by_hue = np.argsort(rows["hues"], kind="stable")
    rows = {name: np.ascontiguousarray(part[by_hue]) for name, part in rows.items()}
    return PaletteIndex(
        **rows,
        hue_starts=np.searchsorted(rows["hues"], np.arange(361)),
        image_ids=image_ids,
        owner_ids=owner_ids,
        newest_id=newest_id,
        newest_created=newest_created,
        loaded_at=into.loaded_at if into is not None else time.monotonic(),
    )
