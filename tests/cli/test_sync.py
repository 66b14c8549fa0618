import pytest

from gallery import services
from gallery.models import Image
from tests.cli.conftest import distinct_color, folder_snapshot, image_bytes, sha256_of, write_image

pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_uploads_only_what_is_new_in_the_folder(logged_in_cli, photos, user):
    write_image(photos / "one.png", color=distinct_color(1))
    write_image(photos / "nested" / "two.jpg", color=distinct_color(2))
    first = logged_in_cli("sync", str(photos))
    assert first.summary["created"] == 2, first.output
    new = write_image(photos / "three.webp", color=distinct_color(3))

    second = logged_in_cli("sync", str(photos))

    assert second.exit_code == 0, second.output
    assert second.summary["created"] == 1
    assert second.summary["skipped (already on server)"] == 2
    assert second.files_sent == 1
    assert Image.objects.filter(owner=user, sha256=sha256_of(new)).exists()


def test_sync_reports_an_image_deleted_on_the_server_and_does_not_send_it_again(logged_in_cli, photos, user):
    kept = write_image(photos / "kept.png", color=distinct_color(4))
    deleted = write_image(photos / "deleted.png", color=distinct_color(5))
    logged_in_cli("sync", str(photos))
    image = Image.objects.get(owner=user, sha256=sha256_of(deleted))
    services.soft_delete_image(actor=user, image_id=image.pk)
    before = folder_snapshot(photos)

    run = logged_in_cli("sync", str(photos))

    assert run.exit_code == 0, run.output
    assert run.summary["deleted on the server (not sent)"] == 1
    assert run.summary["skipped (already on server)"] == 1
    assert run.files_sent == 0
    assert (
        f"deleted on server: {deleted}: in the server's trash; bring it back with: scroller-cli restore {image.pk} "
        "(or scroller-cli upload --restore-deleted PATH)" in run.stdout
    )
    assert str(kept) not in run.stdout
    image.refresh_from_db()
    assert image.deleted_at is not None
    assert folder_snapshot(photos) == before


def test_sync_remembers_what_it_sent_so_an_image_purged_on_the_server_is_reported_not_resent(
    logged_in_cli, photos, user
):
    purged = write_image(photos / "purged.png", color=distinct_color(6))
    logged_in_cli("sync", str(photos))
    services.purge_images(image_ids=list(Image.objects.filter(owner=user).values_list("pk", flat=True)))
    assert not Image.objects.exists()

    run = logged_in_cli("sync", str(photos))

    assert run.exit_code == 0, run.output
    assert run.files_sent == 0
    assert f"deleted on server: {purged}: deleted for good on the server" in run.stdout
    assert not Image.objects.exists()
    assert not list(logged_in_cli.config_path.parent.glob("*.tmp"))
    assert (logged_in_cli.config_path.parent / "sync-state.json").stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in photos.iterdir()) == ["purged.png"]


def test_sync_download_fetches_server_images_missing_locally_and_verifies_them(logged_in_cli, photos, tmp_path, user):
    elsewhere = tmp_path / "other computer"
    remote = [
        write_image(elsewhere / "beach.jpg", color=distinct_color(7)),
        write_image(elsewhere / "sub" / "forest.png", color=distinct_color(8)),
    ]
    assert logged_in_cli("upload", str(elsewhere)).exit_code == 0
    local = write_image(photos / "local.gif", color=distinct_color(9))
    # Same name as a server image but different content: it must stay as it is.
    clash = photos / "beach.jpg"
    clash.write_bytes(image_bytes(color=(1, 2, 3), image_format="JPEG"))
    clash_before = clash.read_bytes()

    run = logged_in_cli("sync", "--download", str(photos))

    assert run.exit_code == 0, run.output
    assert run.summary["created"] == 2  # local.gif and the local beach.jpg
    assert run.summary["downloaded"] == 2
    assert clash.read_bytes() == clash_before
    assert sha256_of(photos / "beach (1).jpg") == sha256_of(remote[0])
    assert sha256_of(photos / "forest.png") == sha256_of(remote[1])
    assert sorted(path.name for path in photos.iterdir()) == ["beach (1).jpg", "beach.jpg", "forest.png", "local.gif"]
    assert sha256_of(local) == sha256_of(photos / "local.gif")

    again = logged_in_cli("sync", "--download", str(photos))

    assert again.summary["downloaded"] == 0, again.output
    assert again.summary["created"] == 0
    assert again.files_sent == 0


def test_sync_download_refuses_a_file_whose_bytes_do_not_match_the_servers_hash(logged_in_cli, photos, tmp_path, user):
    elsewhere = tmp_path / "other computer"
    write_image(elsewhere / "tampered.png", color=distinct_color(10))
    assert logged_in_cli("upload", str(elsewhere)).exit_code == 0
    image = Image.objects.get(owner=user)
    # Corrupt the stored original in place, keeping its length, as a failing disk would.
    stored = image.original.path
    with open(stored, "r+b") as file:
        file.seek(-1, 2)
        last = file.read(1)
        file.seek(-1, 2)
        file.write(bytes([last[0] ^ 0xFF]))

    run = logged_in_cli("sync", "--download", str(photos))

    assert run.exit_code == 3, run.output
    assert run.summary["failed"] == 1
    assert run.summary["downloaded"] == 0
    assert "did not match its SHA-256" in run.stdout
    assert list(photos.iterdir()) == []


def test_sync_of_a_path_that_is_not_a_folder_is_a_clear_error(logged_in_cli, tmp_path):
    run = logged_in_cli("sync", str(tmp_path / "nowhere"))

    assert run.exit_code == 1
    assert f"scroller-cli: error: {tmp_path / 'nowhere'} is not a folder" in run.stderr
