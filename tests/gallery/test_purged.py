"""Purged images are remembered by hash only, per owner, for the retention period; re-uploads do not bring them back."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from gallery import services
from gallery.models import Image, PurgedContent
from gallery.purged import services as purged_services
from tests.gallery import images as make
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, *files: tuple[str, bytes], **fields) -> list[dict]:
    response = client.post("/api/images/", {"file": [SimpleUploadedFile(name, data) for name, data in files], **fields})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def purged_image(*, owner: User, color: tuple[int, int, int]) -> tuple[bytes, Image]:
    data = make.solid(color=color, image_format="PNG")
    image = store_image(owner=owner, data=data)
    services.purge_images(image_ids=[image.pk])
    return data, image


def test_a_purge_remembers_the_owner_and_hash_and_nothing_else(user):
    image = store_image(owner=user, color=(10, 10, 200))
    Image.objects.filter(pk=image.pk).update(deleted_at=timezone.now() - timedelta(days=40))

    services.purge_deleted_images(older_than=timedelta(days=30))

    assert not Image.objects.exists()
    assert list(PurgedContent.objects.values("owner_id", "sha256")) == [{"owner_id": user.pk, "sha256": image.sha256}]
    assert {field.name for field in PurgedContent._meta.get_fields()} == {"id", "owner", "sha256", "purged_at"}


def test_reuploading_purged_bytes_is_deleted_before_without_an_id_and_stores_nothing(alice_client, user, media_root):
    data, _ = purged_image(owner=user, color=(200, 10, 10))

    [result] = upload(alice_client, ("again.png", data))

    assert (result["status"], result["id"]) == ("deleted_before", None)
    assert not Image.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_restore_deleted_stores_purged_bytes_anew(alice_client, user):
    data, _ = purged_image(owner=user, color=(10, 200, 10))

    [result] = upload(alice_client, ("again.png", data), restore_deleted="1")

    assert result["status"] == "created"
    assert Image.objects.get(pk=result["id"]).deleted_at is None


def test_another_owner_may_upload_bytes_someone_else_purged(bob_client, user):
    data, _ = purged_image(owner=user, color=(10, 200, 200))

    [result] = upload(bob_client, ("theirs.png", data))

    assert result["status"] == "created"


def test_purged_hashes_older_than_the_retention_are_ignored_then_swept(alice_client, user, settings):
    settings.SCROLLER_PURGED_HASH_RETENTION_DAYS = 30
    data, _ = purged_image(owner=user, color=(200, 200, 10))
    kept_data, _ = purged_image(owner=user, color=(200, 10, 200))
    old = PurgedContent.objects.get(sha256=sha256_of(data))
    PurgedContent.objects.filter(pk=old.pk).update(purged_at=timezone.now() - timedelta(days=31))

    assert upload(alice_client, ("old.png", data))[0]["status"] == "created"
    assert purged_services.forget_expired_purges() == 1
    assert list(PurgedContent.objects.values_list("sha256", flat=True)) == [sha256_of(kept_data)]


def test_purge_deleted_command_forgets_expired_hashes(user, settings):
    settings.SCROLLER_PURGED_HASH_RETENTION_DAYS = 30
    purged_image(owner=user, color=(90, 30, 200))
    PurgedContent.objects.update(purged_at=timezone.now() - timedelta(days=31))

    call_command("purge_deleted", stdout=(output := io.StringIO()))

    assert "forgot 1 expired purged hash(es)" in output.getvalue()
    assert not PurgedContent.objects.exists()


def test_purging_the_same_bytes_again_restarts_their_retention(user, settings):
    settings.SCROLLER_PURGED_HASH_RETENTION_DAYS = 30
    data, _ = purged_image(owner=user, color=(30, 90, 200))
    PurgedContent.objects.update(purged_at=timezone.now() - timedelta(days=31))
    image = store_image(owner=user, data=data, filename="back.png")

    services.purge_images(image_ids=[image.pk])

    [remembered] = PurgedContent.objects.all()
    assert remembered.purged_at > timezone.now() - timedelta(minutes=1)


def test_lookup_lists_purged_hashes_apart_from_held_images(alice_client, user):
    data, _ = purged_image(owner=user, color=(120, 30, 200))
    held = store_image(owner=user, color=(120, 200, 30))
    unknown = "0" * 64

    response = alice_client.post(
        "/api/images/lookup/",
        {"sha256": [sha256_of(data), held.sha256, unknown]},
        content_type="application/json",
    )

    assert response.json() == {
        "images": {held.sha256: {"id": held.pk, "deleted": False}},
        "purged": [sha256_of(data)],
    }
