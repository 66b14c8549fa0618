"""Reads for a palette search: the images whose palettes best cover the asked colours."""

from collections.abc import Iterable, Sequence
from typing import cast

from django.db.models import Q

from gallery import selectors
from gallery.models import DominantColor, Image
from gallery.palette_search.query import AskedColor
from gallery.palette_search.ranking import HUE_REACH, held_near, score

# An image is a candidate when one of its colours holds at least this fraction of an asked
# colour's share near it; the others would score under it for that colour, and reading them all
# would mean reading most of a large catalogue's colour index for a common hue.
CANDIDATE_FRACTION = 0.25
# (score, image id) of the last result of a page; the next page continues after it.
Cursor = tuple[float, int]


def search_by_palette(
    *,
    viewer,
    asked: Sequence[AskedColor],
    hue: int | None = None,
    owner_only: bool = False,
    include_deleted: bool = False,
    after: Cursor | None = None,
    limit: int = selectors.DEFAULT_PAGE_SIZE,
) -> list[tuple[Image, float]]:
    """Best score first (ties: newest first), with the score; filters as `gallery.selectors.list_images`."""
    images = selectors.listable_images(viewer=viewer, hue=hue, owner_only=owner_only, include_deleted=include_deleted)
    coverages = _coverages(asked=asked, images=images)
    ranked = sorted(
        ((round(score(held, asked=asked), 6), image_id) for image_id, held in coverages.items()), reverse=True
    )
    if after is not None:
        ranked = [entry for entry in ranked if entry < after]
    page = ranked[: min(max(limit, 1), selectors.MAX_PAGE_SIZE)]
    found = images.select_related("owner").defer("thumbnail").in_bulk([image_id for _, image_id in page])
    return [(found[image_id], image_score) for image_score, image_id in page if image_id in found]


def _coverages(*, asked: Sequence[AskedColor], images) -> dict[int, list[float]]:
    """For each candidate image, how much of it lies near each asked colour."""
    coverages: dict[int, list[float]] = {}
    for index, color in enumerate(asked):
        for image_id, hue, saturation, value, share in _colors_near(color, images=images):
            held = held_near(hue=hue, saturation=saturation, value=value, share=share, asked=color)
            image_coverages = coverages.setdefault(image_id, [0.0] * len(asked))
            image_coverages[index] = max(image_coverages[index], held)
    return coverages


def _colors_near(color: AskedColor, *, images) -> Iterable[tuple[int, int, float, float, float]]:
    """(image id, hue, saturation, value, share) of the candidates' colours within reach of the asked hue."""
    in_reach = Q()
    for low, high in selectors.hue_ranges(hue=color.hue, margin=HUE_REACH - 1):
        in_reach |= Q(hue__gte=low, hue__lte=high)
    rows = DominantColor.objects.filter(in_reach, share__gte=color.weight * CANDIDATE_FRACTION, image__in=images)
    # The hue ranges leave out grey rows, whose hue is NULL.
    return cast(
        Iterable[tuple[int, int, float, float, float]],
        rows.values_list("image_id", "hue", "saturation", "value", "share"),
    )
