"""Writes for the re-analysis: an image's colour rows, palette and monochrome flag, replaced together."""

import secrets
from collections.abc import Mapping, Sequence

from django.db import transaction

from gallery.colors import DominantColour, is_monochrome
from gallery.models import DominantColor, Image


def replace_colors(*, colours_by_image: Mapping[int, Sequence[DominantColour]]) -> None:
    """One transaction for the whole batch: a reader sees each image's old colours or its new ones, never a mix.

    Each image keeps its stream position (`shuffle`), so open scrollers' walks are not reshuffled.
    Thumbnails and everything else about the images stay as they are.
    """
    if not colours_by_image:
        return
    with transaction.atomic():
        images = list(
            Image.objects.select_for_update()
            .filter(pk__in=colours_by_image.keys())
            .only("pk", "palette", "is_monochrome")
        )
        shuffles = dict(DominantColor.objects.filter(image__in=images, rank=0).values_list("image_id", "shuffle"))
        DominantColor.objects.filter(image__in=images).delete()
        for image in images:
            colours = colours_by_image[image.pk]
            image.palette = [[colour.hue, colour.saturation, colour.value, colour.share] for colour in colours]
            image.is_monochrome = is_monochrome(colours)
        Image.objects.bulk_update(images, ["palette", "is_monochrome"])
        DominantColor.objects.bulk_create(
            [
                row
                for image in images
                for row in _color_rows(image=image, colours=colours_by_image[image.pk], shuffle=shuffles.get(image.pk))
            ]
        )


def _color_rows(*, image: Image, colours: Sequence[DominantColour], shuffle: int | None) -> list[DominantColor]:
    shuffle = secrets.randbits(32) if shuffle is None else shuffle
    return [
        DominantColor(
            image=image,
            rank=rank,
            hue=colour.hue,
            saturation=colour.saturation,
            value=colour.value,
            share=colour.share,
            shuffle=shuffle,
        )
        for rank, colour in enumerate(colours)
    ]
