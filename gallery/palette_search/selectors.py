"""Reads for a palette search: the images whose palettes best cover the asked colours."""

from collections.abc import Sequence

from gallery import selectors
from gallery.listing_cache import ListedImage, listed_images
from gallery.palette_search.index import Ranking, best, candidate_keys, palette_index
from gallery.palette_search.query import AskedColor
from gallery.search.selectors import matching_image_ids

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
    filters (owner, hue, and with `text` the words of a text search), a round at a time.
    """
    images = selectors.listable_images(viewer=viewer, hue=hue, owner_only=owner_only, include_deleted=include_deleted)
    limit = min(max(limit, 1), selectors.MAX_PAGE_SIZE)
    keys = candidate_keys(palette_index(), asked=asked, owner_id=viewer.pk if owner_only else None)
    chosen: list[tuple[int, float]] = []
    checked = round(limit * CHECKED_FIRST_EXTRA) + 8
    while len(chosen) < limit:
        ranked = best(keys, after=after, count=checked)
        chosen += _passing(ranked, images=images, text=text)
        if len(ranked) < checked:
            break
        after = (float(ranked.scores[-1]), int(ranked.image_ids[-1]))
        checked *= 2
    chosen = chosen[:limit]
    found = listed_images(
        viewer=viewer, image_ids=[image_id for image_id, _ in chosen], include_deleted=include_deleted
    )
    # An image deleted or hidden between the two reads is left out: the page comes one short.
    return [(found[image_id], image_score) for image_id, image_score in chosen if image_id in found]


def _passing(ranked: Ranking, *, images, text: str | None) -> list[tuple[int, float]]:
    """(id, score) of the ranked images the filters let through, in their order; only ids are read."""
    image_ids = ranked.image_ids.tolist()
    if text is not None:
        image_ids = matching_image_ids(text=text, image_ids=image_ids)
    passing = set(images.filter(pk__in=image_ids).values_list("pk", flat=True))
    scores = dict(zip(ranked.image_ids.tolist(), ranked.scores.tolist(), strict=True))
    return [(image_id, scores[image_id]) for image_id in image_ids if image_id in passing]
