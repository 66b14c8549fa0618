from pathlib import Path

import pytest
from PIL import Image

# The websocket fixtures, for the `updated` event's test.
from tests.gallery.realtime.test_consumer import channel_layer, connect, make  # noqa: F401

PHOTOS = Path(__file__).resolve().parent / "photos"


@pytest.fixture
def photo():
    """A committed test photograph (see photos/NOTICE), decoded as the labelling task decodes originals."""
    from gallery.labels.classifier import open_for_labelling

    def open_photo(name: str) -> Image.Image:
        return open_for_labelling(PHOTOS / name)

    return open_photo


def photo_bytes(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def run_worker() -> None:
    """The database backend's own worker, as `manage.py db_worker --batch` runs it: every task that is due, then return."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    ).run()


def top_label(image_id: int) -> str:
    """The name of the most probable label stored for this image."""
    from gallery.models import Image

    labels = Image.objects.get(pk=image_id).labels
    assert labels is not None, f"image {image_id} has no labels"
    return labels[0]["name"]


def lose_original(image_id: int) -> None:
    """Delete an image's original from storage, as a failing disk or a careless admin would."""
    from gallery.models import Image

    original = Image.objects.get(pk=image_id).original
    assert original.name is not None
    original.storage.delete(original.name)
