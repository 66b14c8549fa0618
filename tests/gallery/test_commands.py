import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gallery.models import DominantColor, Image
from gallery.search.services import reindex_images
from tests.gallery import images as make
from tests.gallery.images import solid
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "2024" / "summer").mkdir(parents=True)
    (folder / "2024" / "summer" / "beach.png").write_bytes(solid(color=(0, 120, 255)))
    (folder / "2024" / "forest.png").write_bytes(solid(color=(20, 160, 40)))
    (folder / "sunset.png").write_bytes(solid(color=(255, 90, 0)))
    (folder / "copy-of-sunset.png").write_bytes(solid(color=(255, 90, 0)))
    (folder / "notes.txt").write_text("not a picture")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "skipped.png").write_bytes(solid(color=(1, 2, 250)))
    return folder


def test_import_walks_folders_recursively_and_summarises(photo_folder, user):
    output = run("import_images", str(photo_folder), "--user", "alice", "--no-progress")

    assert "created 3, duplicate 1, rejected 1" in output
    assert "not an image" in output and "notes.txt" in output
    assert sorted(Image.objects.values_list("original_name", flat=True)) == [
        "beach.png",
        "copy-of-sunset.png",
        "forest.png",
    ]
    assert Image.objects.filter(owner=user).count() == 3


def test_import_again_stores_nothing_new(photo_folder, user):
    run("import_images", str(photo_folder), "--user", "alice", "--no-progress")

    output = run("import_images", str(photo_folder), "--user", "alice", "--no-progress")

    assert "created 0, duplicate 4, rejected 1" in output
    assert Image.objects.count() == 3


def test_import_can_make_images_private(photo_folder, user):
    run("import_images", str(photo_folder), "--user", "alice", "--visibility", "private", "--no-progress")

    assert set(Image.objects.values_list("visibility", flat=True)) == {"private"}


def test_import_needs_an_existing_user(photo_folder, db):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        run("import_images", str(photo_folder), "--user", "nobody")


def test_import_refuses_a_missing_path(tmp_path, user):
    with pytest.raises(CommandError, match="does not exist"):
        run("import_images", str(tmp_path / "nowhere"), "--user", "alice")


def test_purge_deleted_command_purges_by_age(user, media_root):
    image = store_image(owner=user, color=(200, 0, 100))
    Image.objects.filter(pk=image.pk).update(deleted_at=timezone.now() - timedelta(days=40))

    output = run("purge_deleted", "--older-than", "30d")

    assert "purged 1 image(s)" in output
    assert not Image.objects.exists()
    assert not (media_root / image.original.name).exists()


def test_purge_deleted_refuses_a_bad_duration(db):
    with pytest.raises(CommandError, match="not a duration"):
        run("purge_deleted", "--older-than", "a month")


def as_if_analysed_long_ago(image: Image) -> None:
    """Colours an older analysis might have stored: a pale grey called blue, and a wrong share."""
    DominantColor.objects.filter(image=image).update(hue=210, saturation=0.22, share=0.5)
    Image.objects.filter(pk=image.pk).update(palette=[[210, 0.22, 0.8, 0.5]], is_monochrome=False)


def stored_colors(image: Image) -> list[tuple]:
    return list(
        DominantColor.objects.filter(image=image).order_by("rank").values_list("rank", "hue", "share", "shuffle")
    )


def test_reanalyse_colors_rewrites_colors_palette_and_monochrome_flag_from_the_originals(user):
    grey = store_image(owner=user, data=solid(color=(176, 190, 212)))  # pale blue-grey: grey to a person
    split = store_image(owner=user, data=make.two_color_split(first=(230, 40, 40), second=(40, 90, 220)))
    fresh = {image.pk: (stored_colors(image), image.palette, image.is_monochrome) for image in (grey, split)}
    thumbnails = {image.pk: bytes(image.thumbnail) for image in (grey, split)}
    for image in (grey, split):
        as_if_analysed_long_ago(image)
    Image.objects.filter(pk=split.pk).update(deleted_at=timezone.now())  # deleted images can come back

    output = run("reanalyse_colors", "--no-progress", "--batch-size", "1")

    assert "re-analysed 2, kept as they were 0" in output
    for image in Image.objects.filter(pk__in=fresh):
        assert (stored_colors(image), image.palette, image.is_monochrome) == fresh[image.pk]
        assert bytes(image.thumbnail) == thumbnails[image.pk]
    assert Image.objects.get(pk=grey.pk).is_monochrome


def test_reanalysed_colors_are_what_search_finds_by_colour_word(user, client):
    red = store_image(owner=user, data=solid(color=(220, 30, 30)))
    as_if_analysed_long_ago(red)
    reindex_images(image_ids=[red.pk])
    assert found(client, "blue") == [red.pk]

    run("reanalyse_colors", "--no-progress")

    assert found(client, "red") == [red.pk]
    assert found(client, "blue") == []


def found(client, query: str) -> list[int]:
    return [item["id"] for item in client.get("/api/images/", {"q": query}).json()["results"]]


def test_reanalyse_colors_keeps_the_colors_of_an_image_whose_original_is_gone(user, media_root):
    missing = store_image(owner=user, data=solid(color=(0, 120, 255)))
    present = store_image(owner=user, data=solid(color=(20, 160, 40)))
    for image in (missing, present):
        as_if_analysed_long_ago(image)
    (media_root / missing.original.name).unlink()

    output = run("reanalyse_colors", "--no-progress")

    assert "re-analysed 1, kept as they were 1" in output
    assert f"original unreadable: No such file or directory: #{missing.pk}" in output
    assert Image.objects.get(pk=missing.pk).palette == [[210, 0.22, 0.8, 0.5]]
    assert [hue for _, hue, _, _ in stored_colors(present)] == [pytest.approx(128, abs=2)]


def test_reanalyse_colors_shows_a_progress_bar(user, capsys):
    store_image(owner=user, data=solid(color=(0, 120, 255)))

    run("reanalyse_colors")

    assert "1/1" in capsys.readouterr().err
