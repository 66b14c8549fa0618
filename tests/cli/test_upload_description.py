import pytest

from gallery.models import Image
from tests.cli.conftest import write_image

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_with_a_description_gives_it_to_the_new_images(logged_in_cli, photos, user):
    write_image(photos / "a.png", color=(255, 0, 0))
    write_image(photos / "b.png", color=(0, 0, 255))

    run = logged_in_cli("upload", "--description", "Lisbon, May 2026", str(photos))

    assert run.exit_code == 0, run.output
    assert list(Image.objects.filter(owner=user).values_list("description", flat=True)) == ["Lisbon, May 2026"] * 2


def test_an_over_long_description_is_a_usage_error_and_sends_nothing(logged_in_cli, photos, user):
    write_image(photos / "a.png", color=(255, 0, 0))

    run = logged_in_cli("upload", "--description", "x" * 2001, str(photos))

    assert run.exit_code == 2
    assert "at most 2,000 characters, not 2,001" in run.output
    assert not Image.objects.exists()
