import os
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.utils import timezone

from gallery import services
from gallery.analysis import analyse_image
from gallery.models import DominantColor, Image
from tests.gallery.images import photo_like, solid
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


def new_image(data: bytes, *, name: str) -> services.NewImage:
    return services.NewImage(original_name=name, data=data, analysis=analyse_image(data, max_pixels=10**8))


def test_a_failed_insert_leaves_no_file_and_no_row(media_root):
    data = solid(color=(0, 90, 200))
    ghost = get_user_model()(pk=987654, username="ghost")

    with pytest.raises(IntegrityError):
        services.store_images(owner=ghost, new_images=[new_image(data, name="a.png")], visibility="public")

    assert Image.objects.count() == 0
    assert DominantColor.objects.count() == 0
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_storing_the_same_image_twice_keeps_one_record_and_its_file(user, media_root):
    data = solid(color=(0, 200, 90))

    [(first, created_first)] = services.store_images(
        owner=user, new_images=[new_image(data, name="a.png")], visibility="public"
    )
    [(second, created_second)] = services.store_images(
        owner=user, new_images=[new_image(data, name="b.png")], visibility="public"
    )

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert first.original.name is not None and default_storage.open(first.original.name).read() == data


def test_a_losing_duplicate_never_rewrites_the_file_a_committed_row_points_at(user, media_root):
    data = photo_like(seed=3)
    [(first, _)] = services.store_images(owner=user, new_images=[new_image(data, name="a.jpg")], visibility="public")
    path = media_root / first.original.name
    before = path.stat()
    reader = path.open("rb")

    [(second, created)] = services.store_images(
        owner=user, new_images=[new_image(data, name="b.jpg")], visibility="public"
    )

    after = path.stat()
    assert (created, second.pk) == (False, first.pk)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert reader.read() == data
    reader.close()


def test_an_original_replaces_a_leftover_file_whole_under_a_new_inode(user, media_root):
    data = photo_like(seed=4)
    analysis = analyse_image(data, max_pixels=10**8)
    leftover = media_root / services.original_path(owner_id=user.pk, sha256=analysis.sha256, image_format="JPEG")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(data[: len(data) // 2])  # what a crash mid-write used to leave
    reader = leftover.open("rb")

    services.store_images(owner=user, new_images=[new_image(data, name="a.jpg")], visibility="public")

    assert leftover.read_bytes() == data
    assert reader.read() == data[: len(data) // 2]  # a download in progress keeps the file it opened
    reader.close()
    assert [path.name for path in leftover.parent.iterdir()] == [leftover.name]


def test_a_chunk_with_an_already_stored_image_stores_the_others(user):
    kept = solid(color=(200, 0, 90))
    services.store_images(owner=user, new_images=[new_image(kept, name="kept.png")], visibility="public")

    stored = services.store_images(
        owner=user,
        new_images=[new_image(solid(color=(0, 10, 250)), name="new.png"), new_image(kept, name="again.png")],
        visibility="public",
    )

    assert [created for _, created in stored] == [True, False]
    assert Image.objects.count() == 2


def test_colors_are_stored_by_rank_with_one_shuffle_key_per_image(user):
    image = store_image(owner=user, data=solid(color=(255, 0, 0)))

    colors = list(image.colors.all())

    assert [color.rank for color in colors] == list(range(len(colors)))
    assert len({color.shuffle for color in colors}) == 1


def test_the_palette_holds_the_color_rows_in_rank_order(user):
    image = store_image(owner=user, data=photo_like())

    rows = [[color.hue, color.saturation, color.value, color.share] for color in image.colors.all()]

    assert len(rows) > 1
    assert image.palette == rows


def test_purge_deleted_removes_old_soft_deleted_images_and_their_files(user, media_root):
    old = store_image(owner=user, color=(200, 0, 0))
    recent = store_image(owner=user, color=(0, 200, 0))
    alive = store_image(owner=user, color=(0, 0, 200))
    Image.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    Image.objects.filter(pk=recent.pk).update(deleted_at=timezone.now() - timedelta(days=2))

    purged = services.purge_deleted_images(older_than=timedelta(days=30))

    assert purged == 1
    assert set(Image.objects.values_list("pk", flat=True)) == {recent.pk, alive.pk}
    assert not (media_root / old.original.name).exists()
    assert (media_root / recent.original.name).exists()
    assert not DominantColor.objects.filter(image_id=old.pk).exists()


def test_orphan_sweep_removes_old_files_without_a_record_and_spares_young_ones(user, media_root):
    kept = store_image(owner=user, color=(10, 200, 100))
    old_orphan = media_root / "originals" / str(user.pk) / "ab" / ("ab" + "1" * 62 + ".jpg")
    young_orphan = media_root / "originals" / str(user.pk) / "cd" / ("cd" + "2" * 62 + ".jpg")
    for path in (old_orphan, young_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a crash")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))
    os.utime(media_root / kept.original.name, (two_hours_ago, two_hours_ago))

    removed = services.remove_orphan_files(older_than=timedelta(hours=1))

    assert removed == 1
    assert not old_orphan.exists()
    assert young_orphan.exists()
    assert (media_root / kept.original.name).exists()
