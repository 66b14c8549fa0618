from pathlib import Path

import pytest
from PIL import Image

PHOTOS = Path(__file__).resolve().parent / "photos"


@pytest.fixture
def photo():
    """A committed test photograph (see photos/NOTICE), decoded as the labelling task decodes originals."""
    from gallery.labels.classifier import open_for_labelling

    def open_photo(name: str) -> Image.Image:
        return open_for_labelling(PHOTOS / name)

    return open_photo
