"""Reads for a palette search: the images whose palettes best cover the asked colours."""

from collections.abc import Sequence
from typing import NamedTuple

from gallery import selectors
from gallery.listing_cache import ALIVE_CONDITION, ListedImage, listed_images_at, visible_versions
from gallery.palette_search.index import Ranking, best, candidate_keys, palette_index
from gallery.palette_search.query import AskedColor
from gallery.search.selectors import SearchFilters, filter_conditions, matching_image_ids

# Candidates are checked against the viewer's filters a round at a time, best first: the first
# round a quarter more than the page (most candidates are visible to most viewers), each further
# round twice as many as the one before, so filters that keep few need few rounds.
CHECKED_FIRST_EXTRA = 1.25
# (score, image id) of the last result of a page; the next page continues after it.
Cursor = tuple[float, int]


def search_by_palette(
    *,
    viewer,
    asked: Sequence[AskedColor],
    hue: int | None = None,
    text: str | None = None,
    owner_only: bool = False,
    include_deleted: bool = False,
    after: Cursor | None = None,
    limit: int = selectors.DEFAULT_PAGE_SIZE,
) -> list[tuple[ListedImage, float]]:
    """Best score first (ties: newest first), with the score; filters as `gallery.selectors.list_images`.

    The per-process palette index (gallery.palette_search.index) ranks the candidates; the
    database then says which of the best are alive and visible to the viewer and pass the
    filters (owner, hue, and with `text` the words of a text search), a round at a time, and
    in the same read gives the versions the listing cache is checked against.
    """
    # Deleted images are listed only to whom they can be restored by, as in gallery.selectors.listable_images.
    with_deleted = include_deleted and (owner_only or viewer.is_staff)
    conditions, params = filter_conditions(SearchFilters.of(viewer=viewer, owner_only=owner_only, hue=hue))
    if not with_deleted:
        conditions = ALIVE_CONDITION + conditions
    limit = min(max(limit, 1), selectors.MAX_PAGE_SIZE)
    keys = candidate_keys(palette_index(), asked=asked, owner_id=viewer.pk if owner_only else None)
    chosen: list[PaletteHit] = []
    checked = round(limit * CHECKED_FIRST_EXTRA) + 8
    while len(chosen) < limit:
        ranked = best(keys, after=after, count=checked)
        chosen += _passing(ranked, conditions=conditions, params=params, text=text)
        if len(ranked) < checked:
            break
        after = (float(ranked.scores[-1]), int(ranked.image_ids[-1]))
        checked *= 2
    chosen = chosen[:limit]
    found = listed_images_at(
        viewer=viewer, versions={hit.image_id: hit.version for hit in chosen}, include_deleted=with_deleted
    )
    # An image deleted or hidden between the two reads is left out: the page comes one short.
    return [(found[hit.image_id], hit.score) for hit in chosen if hit.image_id in found]


class PaletteHit(NamedTuple):
    image_id: int
    score: float
    version: tuple  # see listing_cache.ListedImage


def _passing(ranked: Ranking, *, conditions: str, params: list, text: str | None) -> list[PaletteHit]:
    """The ranked images that meet `conditions` and match `text`, in their order, with their listing versions."""
    image_ids = ranked.image_ids.tolist()
    if text is not None:
        image_ids = matching_image_ids(text=text, image_ids=image_ids)
    versions = visible_versions(image_ids=image_ids, conditions=conditions, params=params)
    scores = dict(zip(ranked.image_ids.tolist(), ranked.scores.tolist(), strict=True))
    return [
        PaletteHit(image_id=image_id, score=scores[image_id], version=versions[image_id])
        for image_id in image_ids
        if image_id in versions
    ]
