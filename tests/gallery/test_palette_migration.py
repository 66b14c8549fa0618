import importlib

import pytest
from django.apps import apps

from gallery.models import Image
from tests.gallery.images import photo_like, solid
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db

migration = importlib.import_module("gallery.migrations.0004_image_palette")


def test_palettes_are_filled_from_the_color_rows_in_rank_order(user, monkeypatch):
    monkeypatch.setattr(migration, "BATCH", 2)
    images = [store_image(owner=user, data=photo_like(seed=seed)) for seed in range(3)] + [
        store_image(owner=user, data=solid(color=(128, 128, 128)))
    ]
    Image.objects.update(palette=[])

    migration.fill_palettes(apps, None)

    for image in images:
        image.refresh_from_db()
        assert image.palette == [
            [color.hue, color.saturation, color.value, color.share] for color in image.colors.all()
        ]
        assert image.palette
