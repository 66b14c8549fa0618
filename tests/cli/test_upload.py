import signal

import pytest

from gallery import services
from gallery.models import Image
from tests.cli.conftest import distinct_color, finish, folder_snapshot, image_bytes, sha256_of, write_image

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_of_a_folder_sends_images_recursively_and_ignores_other_files(logged_in_cli, photos, user):
    images = [
        write_image(photos / "a.png", color=(255, 0, 0)),
        write_image(photos / "trip" / "b.jpg", color=(0, 0, 255)),
        write_image(photos / "trip" / "day two" / "c.webp", color=(0, 200, 0)),
        write_image(photos / "SHOUTING.GIF", color=(200, 200, 0)),
        write_image(photos / "trip" / "d.JPEG", color=(0, 200, 200)),
    ]
    (photos / "notes.txt").write_text("not an image")
    (photos / "trip" / "raw.cr2").write_bytes(b"raw camera file")
    before = folder_snapshot(photos)

    run = logged_in_cli("upload", str(photos))

    assert run.exit_code == 0, run.output
    assert run.summary == {
        "created": 5,
        "duplicate": 0,
        "skipped (already on server)": 0,
        "rejected": 0,
        "failed": 0,
        "not images (ignored)": 2,
    }
    assert run.files_sent == 5
    assert f"not an image, ignored: {photos / 'notes.txt'}" in run.stdout
    assert f"not an image, ignored: {photos / 'trip' / 'raw.cr2'}" in run.stdout
    stored = Image.objects.filter(owner=user)
    assert sorted(stored.values_list("sha256", flat=True)) == sorted(sha256_of(path) for path in images)
    assert sorted(stored.values_list("original_name", flat=True)) == sorted(path.name for path in images)
    assert set(stored.values_list("visibility", flat=True)) == {"public"}
    assert folder_snapshot(photos) == before


def test_upload_with_visibility_private_stores_private_images(logged_in_cli, photos, user):
    write_image(photos / "secret.png", color=(10, 20, 200))

    run = logged_in_cli("upload", "--visibility", "private", str(photos / "secret.png"))

    assert run.exit_code == 0, run.output
    assert list(Image.objects.filter(owner=user).values_list("visibility", flat=True)) == ["private"]


def test_running_the_same_upload_again_sends_nothing(logged_in_cli, photos, user):
    for index in range(6):
        write_image(photos / f"photo-{index}.png", color=distinct_color(index))
    first = logged_in_cli("upload", str(photos))
    assert first.summary["created"] == 6, first.output
    stored_before = list(Image.objects.order_by("pk").values_list("pk", "sha256", "created_at"))

    again = logged_in_cli("upload", str(photos))

    assert again.exit_code == 0, again.output
    assert again.summary["created"] == 0
    assert again.summary["skipped (already on server)"] == 6
    assert again.files_sent == 0
    assert "sent: 0 files, 0 B" in again.stdout
    assert list(Image.objects.order_by("pk").values_list("pk", "sha256", "created_at")) == stored_before


def test_an_interrupted_upload_resumes_with_only_the_files_that_did_not_arrive(logged_in_cli, photos, user):
    # 40 files make three chunks of at most 16; the "interrupted" first run got through 12 of them.
    paths = [write_image(photos / f"img-{index:02}.jpg", color=distinct_color(index)) for index in range(40)]
    first = logged_in_cli("upload", "--jobs", "2", *map(str, paths[:12]))
    assert first.summary["created"] == 12, first.output

    resumed = logged_in_cli("upload", "--jobs", "2", str(photos))

    assert resumed.exit_code == 0, resumed.output
    assert resumed.summary["skipped (already on server)"] == 12
    assert resumed.summary["created"] == 28
    assert resumed.files_sent == 28
    assert sorted(Image.objects.filter(owner=user).values_list("sha256", flat=True)) == sorted(map(sha256_of, paths))


def test_ctrl_c_during_an_upload_keeps_what_arrived_and_a_rerun_sends_only_the_rest(logged_in_cli, photos, user):
    paths = [write_image(photos / f"img-{index:03}.png", color=distinct_color(index)) for index in range(96)]
    process = logged_in_cli.start("upload", "--jobs", "1", "--verbose", str(photos))
    # --verbose prints a chunk's files as soon as the server has answered for them.
    first_line = process.stdout.readline()
    assert first_line.startswith("created: "), first_line + process.stderr.read()

    process.send_signal(signal.SIGINT)

    interrupted = finish(process, already_read=first_line)
    assert interrupted.exit_code == 130, interrupted.output
    assert "scroller-cli: stopped: interrupted" in interrupted.stderr
    created = interrupted.summary["created"]
    not_sent = interrupted.summary["not sent (stopped early; run again to resume)"]
    assert created >= 16 and not_sent >= 16 and created + not_sent == len(paths)
    assert sum(line.startswith("created: ") for line in interrupted.stdout.splitlines()) == created
    assert Image.objects.filter(owner=user).count() == created

    resumed = logged_in_cli("upload", str(photos))

    assert resumed.exit_code == 0, resumed.output
    assert resumed.summary["skipped (already on server)"] == created
    assert resumed.summary["created"] == resumed.files_sent == not_sent
    assert sorted(Image.objects.filter(owner=user).values_list("sha256", flat=True)) == sorted(map(sha256_of, paths))


def test_identical_local_files_are_sent_once(logged_in_cli, photos, user):
    data = image_bytes(color=(120, 40, 200))
    (photos / "original.png").write_bytes(data)
    (photos / "copy of original.png").write_bytes(data)

    run = logged_in_cli("upload", "--verbose", str(photos))

    assert run.exit_code == 0, run.output
    assert run.summary["created"] == 1
    assert run.summary["duplicate"] == 1
    assert run.files_sent == 1
    assert f"duplicate: {photos / 'original.png'}: same content as {photos / 'copy of original.png'}" in run.stdout
    assert Image.objects.filter(owner=user).count() == 1


def test_a_file_the_server_cannot_decode_is_rejected_with_its_reason_and_the_rest_is_stored(
    logged_in_cli, photos, user
):
    write_image(photos / "good.png", color=(0, 128, 255))
    (photos / "broken.jpg").write_bytes(b"this is text pretending to be a JPEG")

    run = logged_in_cli("upload", str(photos))

    assert run.exit_code == 3, run.output
    assert run.summary["created"] == 1
    assert run.summary["rejected"] == 1
    [rejection] = [line for line in run.stdout.splitlines() if line.startswith("rejected: ")]
    assert rejection.startswith(f"rejected: {photos / 'broken.jpg'}: ")
    assert len(rejection) > len(f"rejected: {photos / 'broken.jpg'}: ")
    assert list(Image.objects.filter(owner=user).values_list("original_name", flat=True)) == ["good.png"]


def test_an_image_in_the_server_trash_is_not_sent_again_but_pointed_at_restore(logged_in_cli, photos, user):
    path = write_image(photos / "gone.png", color=(250, 100, 0))
    logged_in_cli("upload", str(path))
    image = Image.objects.get(owner=user)
    assert logged_in_cli("rm", str(image.pk)).exit_code == 0

    run = logged_in_cli("upload", str(path))

    assert run.exit_code == 0, run.output
    assert run.files_sent == 0
    assert run.summary["deleted on the server (not sent)"] == 1
    assert (
        f"deleted on server: {path}: in the server's trash; bring it back with: scroller-cli restore {image.pk} "
        "(or scroller-cli upload --restore-deleted PATH)" in run.stdout
    )
    image.refresh_from_db()
    assert image.deleted_at is not None


def test_an_image_purged_on_the_server_is_not_sent_again_but_reported(logged_in_cli, photos, user):
    path = write_image(photos / "purged.png", color=(20, 100, 250))
    logged_in_cli("upload", str(path))
    services.purge_images(image_ids=list(Image.objects.filter(owner=user).values_list("pk", flat=True)))

    run = logged_in_cli("upload", str(photos))

    assert run.exit_code == 0, run.output
    assert run.files_sent == 0
    assert run.summary["deleted on the server (not sent)"] == 1
    assert (
        f"deleted on server: {path}: deleted for good on the server; "
        "send it again with: scroller-cli upload --restore-deleted PATH" in run.stdout
    )
    assert not Image.objects.exists()


def test_restore_deleted_restores_trashed_images_and_sends_purged_ones_again(logged_in_cli, photos, user):
    trashed = write_image(photos / "trashed.png", color=(250, 20, 100))
    purged = write_image(photos / "purged.png", color=(20, 250, 100))
    logged_in_cli("upload", str(photos))
    trashed_image = Image.objects.get(sha256=sha256_of(trashed))
    services.soft_delete_image(actor=user, image_id=trashed_image.pk)
    services.purge_images(image_ids=[Image.objects.get(sha256=sha256_of(purged)).pk])

    run = logged_in_cli("upload", "--restore-deleted", str(photos))

    assert run.exit_code == 0, run.output
    assert run.summary["restored from the server's trash"] == 1
    assert run.summary["created"] == 1
    assert run.files_sent == 1
    trashed_image.refresh_from_db()
    assert trashed_image.deleted_at is None
    assert Image.objects.filter(owner=user, sha256=sha256_of(purged), deleted_at__isnull=True).exists()
