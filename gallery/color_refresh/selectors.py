"""Reads for the re-analysis: which images, in batches."""

from collections.abc import Iterator

from gallery.models import Image


def count_images() -> int:
    return Image.objects.count()


def image_batches(*, batch_size: int) -> Iterator[list[tuple[int, str]]]:
    """(id, stored original's name) of every image, deleted ones too (they can be restored), in id order."""
    after = 0
    while batch := list(Image.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "original")[:batch_size]):
        yield batch
        after = batch[-1][0]
