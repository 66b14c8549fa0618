"""manage.py label_images: labels stored images in the foreground, the missing ones or all."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gallery.models import Image
from tests.gallery.labels.conftest import lose_original, photo_bytes, top_label
from tests.gallery.test_api_upload import upload

pytestmark = pytest.mark.django_db(transaction=True)

HAND_MADE = [{"name": "hand made", "wnid": "n00000000", "probability": 1.0}]


@pytest.fixture
def stored(alice_client) -> dict[str, int]:
    names = ["ladybug.jpg", "cups.jpg", "daisy.jpg"]
    results = upload(alice_client, *((name, photo_bytes(name)) for name in names))["results"]
    return {name: result["id"] for name, result in zip(names, results, strict=True)}


def test_missing_labels_only_those_without_labels(stored, capsys):
    Image.objects.filter(pk=stored["cups.jpg"]).update(labels=HAND_MADE)

    call_command("label_images", "--missing", "--no-progress")

    assert "labelled 2 of 2 image(s)" in capsys.readouterr().out
    assert top_label(stored["ladybug.jpg"]) == "ladybug"
    assert top_label(stored["daisy.jpg"]) == "daisy"
    assert Image.objects.get(pk=stored["cups.jpg"]).labels == HAND_MADE


def test_all_labels_every_image_again(stored, capsys):
    Image.objects.filter(pk=stored["cups.jpg"]).update(labels=HAND_MADE)

    call_command("label_images", "--all", "--no-progress")

    assert "labelled 3 of 3 image(s)" in capsys.readouterr().out
    assert top_label(stored["cups.jpg"]) in {"cup", "coffee mug"}


def test_an_unreadable_original_is_reported_and_the_others_are_labelled(stored):
    lose_original(stored["daisy.jpg"])

    with pytest.raises(CommandError, match=r"1 image\(s\) could not be labelled"):
        call_command("label_images", "--no-progress")

    assert top_label(stored["ladybug.jpg"]) == "ladybug"
    assert Image.objects.get(pk=stored["daisy.jpg"]).labels is None


def test_an_unavailable_classifier_is_a_clear_error(stored, settings, tmp_path):
    settings.SCROLLER_LABELS_WEIGHTS = str(tmp_path / "gone.pth")

    with pytest.raises(CommandError, match=r"the classifier is unavailable: cannot read the classifier's weights"):
        call_command("label_images", "--no-progress")

    assert not Image.objects.filter(labels__isnull=False).exists()
