import pytest

from gallery.models import Image
from tests.cli.conftest import write_image

pytestmark = pytest.mark.django_db(transaction=True)


def listed_ids(run) -> list[int]:
    return [int(line.split()[0]) for line in run.stdout.splitlines() if line.strip()]


@pytest.fixture
def red_and_blue(logged_in_cli, photos, user) -> tuple[Image, Image]:
    write_image(photos / "red.png", color=(255, 0, 0))
    write_image(photos / "blue.png", color=(0, 0, 255))
    assert logged_in_cli("upload", str(photos)).exit_code == 0
    return Image.objects.get(original_name="red.png"), Image.objects.get(original_name="blue.png")


def test_ls_lists_your_images_newest_first(logged_in_cli, red_and_blue):
    red, blue = red_and_blue

    run = logged_in_cli("ls")

    assert run.exit_code == 0, run.output
    assert listed_ids(run) == sorted([red.pk, blue.pk], reverse=True)
    assert "red.png" in run.stdout and "blue.png" in run.stdout
    assert "2 images" in run.stderr


def test_ls_with_a_hue_lists_only_images_of_that_color(logged_in_cli, red_and_blue):
    red, blue = red_and_blue

    assert listed_ids(logged_in_cli("ls", "--hue", "0")) == [red.pk]
    assert listed_ids(logged_in_cli("ls", "--hue", "240")) == [blue.pk]
    assert listed_ids(logged_in_cli("ls", "--hue", "120")) == []


def test_ls_with_a_query_lists_the_matches_best_first_with_their_score(logged_in_cli, red_and_blue, photos):
    red, _ = red_and_blue
    write_image(photos / "red kite.png", color=(250, 10, 0))
    assert logged_in_cli("upload", str(photos)).exit_code == 0
    kite = Image.objects.get(original_name="red kite.png")

    run = logged_in_cli("ls", "--query", "Red")

    assert run.exit_code == 0, run.output
    assert listed_ids(run) == [kite.pk, red.pk]
    assert run.stdout.count("score 1.0000") == 2
    assert listed_ids(logged_in_cli("ls", "-q", "kites")) == [kite.pk]
    assert listed_ids(logged_in_cli("ls", "-q", "xyzzy")) == []
    assert logged_in_cli("ls", "-q", "red", "--deleted").exit_code == 2


def test_ls_rejects_a_hue_outside_the_circle(logged_in_cli):
    run = logged_in_cli("ls", "--hue", "360")

    assert run.exit_code == 2
    assert "a hue is 0–359 degrees, not 360" in run.stderr


def test_rm_moves_an_image_to_the_trash_and_restore_brings_it_back(logged_in_cli, red_and_blue):
    red, blue = red_and_blue

    removed = logged_in_cli("rm", str(red.pk))

    assert removed.exit_code == 0, removed.output
    assert f"deleted #{red.pk} (undo with: scroller-cli restore {red.pk})" in removed.stdout
    red.refresh_from_db()
    assert red.deleted_at is not None
    assert listed_ids(logged_in_cli("ls")) == [blue.pk]
    with_deleted = logged_in_cli("ls", "--deleted")
    assert sorted(listed_ids(with_deleted)) == sorted([red.pk, blue.pk])
    assert "[deleted " in with_deleted.stdout

    restored = logged_in_cli("restore", str(red.pk))

    assert restored.exit_code == 0, restored.output
    assert f"restored #{red.pk}" in restored.stdout
    red.refresh_from_db()
    assert red.deleted_at is None


def test_rm_of_an_unknown_image_or_someone_elses_says_so_and_changes_nothing(logged_in_cli, red_and_blue, other_user):
    from tests.gallery.stored import store_image

    theirs = store_image(owner=other_user, color=(0, 255, 0), visibility="public")
    red, _ = red_and_blue

    run = logged_in_cli("rm", "999999", str(theirs.pk), str(red.pk))

    assert run.exit_code == 1
    assert "#999999: no image #999999 that you can see" in run.stderr
    assert f"#{theirs.pk}: image #{theirs.pk} is not yours" in run.stderr
    assert f"deleted #{red.pk}" in run.stdout
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
