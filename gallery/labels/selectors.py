"""Reads for labelling."""

from gallery.models import Image


def images_to_label(*, missing_only: bool) -> list[int]:
    """Ids of stored images, oldest first: all of them, or those the classifier has not labelled yet."""
    images = Image.objects.all()
    if missing_only:
        images = images.filter(labels__isnull=True)
    return list(images.order_by("pk").values_list("pk", flat=True))
