import pytest

from gallery.models import Image
from gallery.search.services import reindex_images

# Real ImageNet classes, by their WordNet ids.
TABBY = {"name": "tabby cat", "wnid": "n02123045"}
TIGER_CAT = {"name": "tiger cat", "wnid": "n02123159"}
GOLDEN_RETRIEVER = {"name": "golden retriever", "wnid": "n02099601"}
SPORTS_CAR = {"name": "sports car", "wnid": "n04285008"}
MOTOR_SCOOTER = {"name": "motor scooter", "wnid": "n03791053"}
ESPRESSO = {"name": "espresso", "wnid": "n07920052"}

RED = (0, 0.6)
BLUE = (220, 0.6)


def labels(*pairs: tuple[dict, float]) -> list[dict]:
    return [{**label, "probability": probability} for label, probability in pairs]


@pytest.fixture
def make_found(make_image):
    """An image (see make_image) with labels, a description and a file name, indexed as the services index it."""

    def make(
        *,
        labelled: list[tuple[dict, float]] = (),
        description: str = "",
        name: str | None = None,
        colors=(BLUE,),
        **options,
    ) -> Image:
        image = make_image(colors=colors, **options)
        image.labels = labels(*labelled) if labelled else None
        image.description = description
        if name is not None:
            image.original_name = name
        image.save(update_fields=["labels", "description", "original_name"])
        reindex_images(image_ids=[image.pk])
        return image

    return make
