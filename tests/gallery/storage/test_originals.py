"""Originals in an S3 bucket keep every promise they keep on local disk, against moto's real S3 HTTP server."""

import io
from datetime import timedelta

import pytest
import requests
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone

from gallery import services
from gallery.analysis import analyse_image
from gallery.models import Image
from gallery.storage import originals
from tests.gallery.images import solid
from tests.gallery.stored import store_image
from tests.gallery.test_api_upload import upload

pytestmark = pytest.mark.django_db(transaction=True)


def local_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()]


def test_an_upload_puts_the_original_in_the_bucket_under_the_prefix_and_nothing_on_disk(
    bucket, alice_client, user, media_root
):
    data = solid(color=(30, 140, 220))

    [result] = upload(alice_client, ("sky.png", data))["results"]

    image = Image.objects.get(pk=result["id"])
    assert result["status"] == "created"
    assert image.original.name == f"originals/{user.pk}/{image.sha256[:2]}/{image.sha256}.png"
    assert bucket.all_keys() == [f"{bucket.prefix}/{image.original.name}"]
    assert bucket.read(image.original.name) == data
    assert local_files(media_root) == []


def test_a_second_upload_of_the_same_bytes_is_a_duplicate_with_one_object(bucket, alice_client):
    data = solid(color=(220, 140, 30))
    [first] = upload(alice_client, ("a.png", data))["results"]

    [second] = upload(alice_client, ("b.png", data))["results"]

    assert (second["status"], second["id"]) == ("duplicate", first["id"])
    assert len(bucket.all_keys()) == 1


def test_a_failed_insert_removes_its_object_again(bucket):
    data = solid(color=(0, 90, 200))
    ghost = get_user_model()(pk=987654, username="ghost")
    new_image = services.NewImage(original_name="a.png", data=data, analysis=analyse_image(data, max_pixels=10**8))

    with pytest.raises(IntegrityError):
        services.store_images(owner=ghost, new_images=[new_image], visibility="public")

    assert Image.objects.count() == 0
    assert bucket.all_keys() == []


@pytest.mark.asyncio
async def test_the_original_streams_from_the_bucket_with_its_file_name_and_the_same_404s(
    bucket, user, other_user, async_client
):
    data = solid(color=(120, 20, 200), width=300, height=200)
    public = await sync_to_async(store_image)(owner=user, data=data, filename="holiday photo.png")
    private = await sync_to_async(store_image)(owner=user, color=(1, 2, 3), visibility="private")
    await async_client.aforce_login(other_user)

    response = await async_client.get(f"/api/images/{public.pk}/original")

    assert response.status_code == 200
    assert b"".join([chunk async for chunk in response.streaming_content]) == data
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="holiday photo.png"'
    assert (await async_client.get(f"/api/images/{private.pk}/original")).status_code == 404
    assert (await async_client.get("/api/images/999999/original")).status_code == 404


def test_redirect_mode_answers_a_short_lived_presigned_url_that_serves_the_original(
    bucket, alice_client, bob_client, settings
):
    settings.SCROLLER_S3_DOWNLOADS = "redirect"
    data = solid(color=(200, 20, 120))
    [public] = upload(alice_client, ("rose.png", data))["results"]
    [private] = upload(alice_client, ("secret.png", solid(color=(1, 2, 3))), visibility="private")["results"]

    response = bob_client.get(f"/api/images/{public['id']}/original")
    fetched = requests.get(response["Location"], timeout=10)

    assert response.status_code == 302
    assert "X-Amz-Expires=60" in response["Location"]
    assert fetched.content == data
    assert fetched.headers["Content-Disposition"] == 'inline; filename="rose.png"'
    assert fetched.headers["Content-Type"] == "image/png"
    assert bob_client.get(f"/api/images/{private['id']}/original").status_code == 404


def test_a_soft_delete_keeps_the_object_and_the_purge_removes_it_after_commit(bucket, alice_client):
    [doomed] = upload(alice_client, ("doomed.png", solid(color=(200, 0, 0))))["results"]
    [kept] = upload(alice_client, ("kept.png", solid(color=(0, 200, 0))))["results"]
    assert alice_client.delete(f"/api/images/{doomed['id']}/").status_code == 200
    assert len(bucket.all_keys()) == 2
    Image.objects.filter(pk=doomed["id"]).update(deleted_at=timezone.now() - timedelta(days=40))

    call_command("purge_deleted", "--older-than", "30d", stdout=io.StringIO())

    assert list(Image.objects.values_list("pk", flat=True)) == [kept["id"]]
    assert bucket.original_names() == [Image.objects.get().original.name]


def test_the_orphan_sweep_removes_unreferenced_objects_past_the_grace_period_and_nothing_else(
    bucket, alice_client, user
):
    [stored] = upload(alice_client, ("kept.png", solid(color=(10, 200, 100))))["results"]
    orphans = [f"originals/{user.pk}/ab/ab{index:062d}.jpg" for index in range(3)]
    for name in orphans:
        bucket.put(f"{bucket.prefix}/{name}", b"left by a crash")
    bucket.put("someone-else/originals/1/ab/not-ours.jpg", b"outside the prefix")

    spared_while_young = services.remove_orphan_files(older_than=timedelta(hours=1))
    removed_once_old = services.remove_orphan_files(older_than=timedelta(0))

    assert (spared_while_young, removed_once_old) == (0, 3)
    assert bucket.original_names() == [Image.objects.get(pk=stored["id"]).original.name]
    assert "someone-else/originals/1/ab/not-ours.jpg" in bucket.all_keys()


def test_the_bucket_is_listed_by_prefix_a_page_at_a_time(bucket):
    for index in range(5):
        bucket.put(f"{bucket.prefix}/originals/1/aa/{index}.png", b"x")
    bucket.put(f"{bucket.prefix}/elsewhere/1.png", b"x")

    pages = list(originals.list_pages(directory="originals", page_size=2))

    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(stored.name for page in pages for stored in page) == [f"originals/1/aa/{i}.png" for i in range(5)]
