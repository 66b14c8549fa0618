"""Reads for a palette search: the images whose palettes best cover the asked colours."""

from collections.abc import Sequence

from django.db import connection

from gallery import selectors
from gallery.models import DominantColor, Image
from gallery.palette_search.query import AskedColor
from gallery.palette_search.ranking import HUE_REACH, TONE_TOLERANCE

# An image is a candidate when one of its colours holds at least this fraction of an asked
# colour's share: the others score at most half of that colour's weight for it, and reading
# them all would mean reading most of a large catalogue's colour index for a common hue.
CANDIDATE_FRACTION = 0.5
# Candidates are checked against the viewer's filters this many at a time, best first.
CHECKED_AT_ONCE = 200
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
    """Best score first (ties: newest first), with the score; filters as `gallery.selectors.list_images`.

    The database scores the candidates from the colour index alone (hue, share and image are all in
    `color_hue_stream`, so the scan touches no table rows) and hands back the best few hundred; the
    viewer's filters (visibility, deletion, owner, hue) are then checked on those only.
    """
    images = selectors.listable_images(viewer=viewer, hue=hue, owner_only=owner_only, include_deleted=include_deleted)
    limit = min(max(limit, 1), selectors.MAX_PAGE_SIZE)
    page: list[tuple[Image, float]] = []
    while len(page) < limit:
        ranked = _best_candidates(asked=asked, after=after, count=CHECKED_AT_ONCE)
        found = images.select_related("owner").defer("thumbnail").in_bulk([image_id for _, image_id in ranked])
        page += [(found[image_id], image_score) for image_score, image_id in ranked if image_id in found]
        if len(ranked) < CHECKED_AT_ONCE:
            break
        after = ranked[-1]
    return page[:limit]


def _best_candidates(*, asked: Sequence[AskedColor], after: Cursor | None, count: int) -> list[tuple[float, int]]:
    """(score, image id) of the best-scoring candidates after the cursor, best first.

    The same arithmetic as `ranking.palette_score`, in SQL, over the colour rows within reach of each
    asked hue that hold at least CANDIDATE_FRACTION of its share.
    """
    least, greatest = ("MIN", "MAX") if connection.vendor == "sqlite" else ("LEAST", "GREATEST")
    coverages: list[str] = []
    parameters: list[float | int] = []
    for color in asked:
        in_reach = " OR ".join(
            "hue BETWEEN %s AND %s" for _ in selectors.hue_ranges(hue=color.hue, margin=HUE_REACH - 1)
        )
        # `hue - 0.0`: MariaDB's unsigned column would refuse to go below zero.
        closeness = f"(1 - {least}(ABS(hue - 0.0 - %s), 360 - ABS(hue - 0.0 - %s)) / {HUE_REACH}.0)"
        tone = "".join(
            f" * {greatest}(0, 1 - ABS({field} - %s) / {TONE_TOLERANCE})"
            for field, asked_tone in (("saturation", color.saturation), ("value", color.value))
            if asked_tone is not None
        )
        coverages.append(
            f"SELECT image_id, %s * {least}(MAX(share * {closeness}{tone}), %s) / "
            f"{greatest}(MAX(share * {closeness}{tone}), %s) AS term "
            f"FROM {DominantColor._meta.db_table} WHERE ({in_reach}) AND share >= %s GROUP BY image_id"
        )
        tones = [tone_value for tone_value in (color.saturation, color.value) if tone_value is not None]
        parameters += [color.weight, color.hue, color.hue, *tones, color.weight, color.hue, color.hue, *tones]
        parameters += [color.weight]
        parameters += [
            bound for window in selectors.hue_ranges(hue=color.hue, margin=HUE_REACH - 1) for bound in window
        ]
        parameters += [color.weight * CANDIDATE_FRACTION]
    total_weight = sum(color.weight for color in asked)
    scored = "ROUND(SUM(term) / %s, 6)"
    having = f"HAVING {scored} < %s OR ({scored} = %s AND image_id < %s)" if after is not None else ""
    sql = (
        f"SELECT {scored} AS score, image_id FROM ({' UNION ALL '.join(coverages)}) AS coverage "
        f"GROUP BY image_id {having} ORDER BY score DESC, image_id DESC LIMIT %s"
    )
    parameters = [total_weight, *parameters]
    if after is not None:
        parameters += [total_weight, after[0], total_weight, after[0], after[1]]
    parameters.append(count)
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return [(float(image_score), int(image_id)) for image_score, image_id in cursor.fetchall()]
