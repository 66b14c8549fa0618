"""Writes to the search index: an image's terms are rewritten whenever what they come from changes.

What they come from: the file name and palette (never change after upload, but by the admin and
`reanalyse_colors`), the description and the labels. Each write stamps the images'
`terms_changed_at` (a new image has it from its insert), which tells the processes' copies of
posting lists (gallery.search.postings) and of listed images (gallery.listing_cache) what to read
again. Visibility and deletion are not copied into the index (searches check the image's index
entry for them), so changing those needs no index write; a purge removes the rows by cascade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gallery.bulk_insert import insert_rows
from gallery.models import Image, SearchKeyword, SearchPosting
from gallery.search.terms import image_terms

INDEXED_FIELDS = ("id", "original_name", "description", "labels", "palette")


def index_images(*, images: Iterable[Image], new: bool = False) -> int:
    """Rewrite the index rows of these images (saved, with INDEXED_FIELDS loaded); returns the rows written.

    `new`: the images were inserted by the caller's transaction, so they have no rows to replace yet.
    """
    images = list(images)
    if not images:
        return 0
    weights_by_image = {
        image.pk: image_terms(
            original_name=image.original_name,
            description=image.description,
            labels=image.labels,
            palette=image.palette,
            min_share=settings.SCROLLER_MIN_MATCH_SHARE,
        )
        for image in images
    }
    # Without a savepoint of its own (two more round trips inside a caller's transaction): whatever fails
    # here fails the caller's transaction too, which every caller wants.
    with transaction.atomic(savepoint=False):
        keyword_ids = keyword_ids_for(texts={text for weights in weights_by_image.values() for text in weights})
        rows = [
            (image_id, keyword_ids[text], weight)
            for image_id, weights in weights_by_image.items()
            for text, weight in weights.items()
        ]
        if not new:
            SearchPosting.objects.filter(image_id__in=list(weights_by_image)).delete()
            Image.objects.filter(pk__in=list(weights_by_image)).update(terms_changed_at=timezone.now())
        insert_rows(model=SearchPosting, fields=("image", "keyword", "weight"), rows=rows)
    return len(rows)


def keyword_ids_for(*, texts: set[str]) -> dict[str, int]:
    """The number of each of these keywords, adding those never seen before (concurrent writers may add the same)."""
    known = _known_keyword_ids(texts)
    missing = texts - known.keys()
    if missing:
        SearchKeyword.objects.bulk_create(
            [SearchKeyword(text=text) for text in sorted(missing)], batch_size=1000, ignore_conflicts=True
        )
        known |= _known_keyword_ids(missing)
    return known


def _known_keyword_ids(texts: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(texts)
    for start in range(0, len(ordered), 1000):
        found.update(SearchKeyword.objects.filter(text__in=ordered[start : start + 1000]).values_list("text", "id"))
    return found


def reindex_images(*, image_ids: Iterable[int]) -> int:
    """Rewrite the index rows of these images from what is stored now (after a description or labels changed).

    The writer then announces the change as `updated` (gallery.realtime.events), which is also what makes
    search streams the images now match receive them live.
    """
    return index_images(images=Image.objects.filter(pk__in=list(image_ids)).only(*INDEXED_FIELDS))


def rebuild_index(*, batch_size: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Rewrite the whole index, deleted images included (a restore needs no rebuild); returns the images indexed."""
    done = 0
    last_id = 0
    while True:
        batch = list(Image.objects.filter(pk__gt=last_id).order_by("pk").only(*INDEXED_FIELDS)[:batch_size])
        if not batch:
            return done
        index_images(images=batch)
        done += len(batch)
        last_id = batch[-1].pk
        if progress is not None:
            progress(len(batch))
