"""Writes for the re-analysis: an image's colour rows, palette and monochrome flag, replaced together."""

from collections.abc import Mapping, Sequence

from django.db import transaction

from gallery import colors
from gallery.bulk_insert import insert_rows
from gallery.models import DominantColor, Image
from gallery.search import services as search_services
from gallery.services import COLOR_FIELDS, color_values, palette_of


def replace_colors(*, colors_by_image: Mapping[int, Sequence[colors.DominantColor]]) -> None:
    """One transaction for the whole batch: a reader sees each image's old colours or its new ones, never a mix.

    Each image keeps its stream position (`shuffle`), so open scrollers' walks are not reshuffled, and its search
    terms follow its new palette (colour words). Thumbnails and everything else about the images stay as they are.
    """
    if not colors_by_image:
        return
    with transaction.atomic():
        images = list(
            Image.objects.select_for_update()
            .filter(pk__in=colors_by_image.keys())
            .only("pk", "palette", "is_monochrome")
        )
        shuffles = dict(DominantColor.objects.filter(image__in=images, rank=0).values_list("image_id", "shuffle"))
        DominantColor.objects.filter(image__in=images).delete()
        for image in images:
            found = colors_by_image[image.pk]
            image.palette = palette_of(found)
            image.is_monochrome = colors.is_monochrome(found)
        Image.objects.bulk_update(images, ["palette", "is_monochrome"])
        insert_rows(
            model=DominantColor,
            fields=COLOR_FIELDS,
            rows=[
                values
                for image in images
                for values in color_values(
                    image_id=image.pk, colors=colors_by_image[image.pk], shuffle=shuffles.get(image.pk)
                )
            ],
        )
        search_services.reindex_images(image_ids=[image.pk for image in images])
