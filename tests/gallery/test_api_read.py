import lzma

import pytest
from asgiref.sync import sync_to_async

from gallery.models import Image
from tests.gallery import images as make
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


def test_listing_is_newest_first_with_colors_and_urls(alice_client, user):
    older = store_image(owner=user, color=(255, 0, 0))
    newer = store_image(owner=user, color=(0, 0, 255))

    body = alice_client.get("/api/images/").json()

    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert first["colors"][0]["hue"] == 240
    assert first["thumbnail_url"] == f"/api/images/{newer.pk}/thumbnail"
    assert first["original_url"] == f"/api/images/{newer.pk}/original"
    assert (first["width"], first["height"], first["filename"], first["owner"]) == (64, 48, "image.png", "alice")
    assert body["next"] is None


def test_anonymous_visitors_can_list_public_images(client, user):
    image = store_image(owner=user, color=(0, 200, 0))

    assert [item["id"] for item in client.get("/api/images/").json()["results"]] == [image.pk]


def test_hue_filter_matches_fuzzily_and_wraps_around_the_circle(client, user):
    red = store_image(owner=user, color=(255, 0, 20))  # hue 355
    orange_red = store_image(owner=user, color=(255, 40, 0))  # hue 9
    store_image(owner=user, color=(0, 0, 255))
    store_image(owner=user, color=(128, 128, 128))

    ids = {item["id"] for item in client.get("/api/images/?hue=2").json()["results"]}

    assert ids == {red.pk, orange_red.pk}


def test_monochrome_images_never_match_a_hue(client, user):
    store_image(owner=user, color=(250, 250, 250))
    store_image(owner=user, color=(5, 5, 5))

    assert client.get("/api/images/?hue=0").json()["results"] == []


def test_pages_follow_the_next_link_without_overlap(client, user):
    stored = [store_image(owner=user, color=(index * 20, 10, 200)) for index in range(5)]

    first = client.get("/api/images/?limit=2").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    seen = [item["id"] for page in (first, second, third) for item in page["results"]]
    assert seen == [image.pk for image in reversed(stored)]
    assert third["next"] is None


@pytest.mark.parametrize("query", ["hue=360", "hue=-1", "hue=red", "limit=0", "limit=100000", "before=x"])
def test_bad_query_parameters_are_refused_clearly(client, query):
    response = client.get(f"/api/images/?{query}")

    assert response.status_code == 400
    assert response.json()["error"]


def test_detail_has_the_full_record(client, user):
    image = store_image(owner=user, color=(20, 200, 20))

    body = client.get(f"/api/images/{image.pk}/").json()

    assert body["sha256"] == image.sha256
    assert body["format"] == "PNG"
    assert body["byte_size"] == image.byte_size
    assert body["deleted_at"] is None


def test_thumbnail_is_the_stored_xz_bytes(client, user):
    image = store_image(owner=user, color=(20, 20, 200))

    response = client.get(f"/api/images/{image.pk}/thumbnail")

    assert response["Content-Type"] == "application/x-xz"
    assert response.content == bytes(Image.objects.get(pk=image.pk).thumbnail)
    assert lzma.decompress(response.content).startswith(b"\xff\xd8\xff")


@pytest.mark.asyncio
async def test_original_is_streamed_as_the_uploaded_bytes_under_its_name(async_client, user):
    data = make.solid(color=(200, 20, 20), image_format="JPEG")
    image = await sync_to_async(store_image)(owner=user, data=data, filename="sunset.jpg")

    response = await async_client.get(f"/api/images/{image.pk}/original")

    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(data))
    assert 'filename="sunset.jpg"' in response["Content-Disposition"]
    assert b"".join([chunk async for chunk in response.streaming_content]) == data


def test_unknown_image_is_not_found(client, db):
    assert client.get("/api/images/999999/").status_code == 404
    assert client.get("/api/images/999999/thumbnail").status_code == 404


def test_owner_soft_deletes_and_restores(alice_client, client, user, media_root):
    image = store_image(owner=user, color=(200, 20, 200))

    deleted = alice_client.delete(f"/api/images/{image.pk}/")

    assert deleted.status_code == 200 and deleted.json()["deleted_at"]
    assert client.get("/api/images/").json()["results"] == []
    assert client.get(f"/api/images/{image.pk}/").status_code == 404
    assert client.get(f"/api/images/{image.pk}/original").status_code == 404
    assert (media_root / image.original.name).exists()

    restored = alice_client.post(f"/api/images/{image.pk}/restore/")

    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert [item["id"] for item in client.get("/api/images/").json()["results"]] == [image.pk]


def test_only_the_owner_or_staff_may_delete(bob_client, staff_client, client, user):
    image = store_image(owner=user, color=(200, 200, 20))

    assert bob_client.delete(f"/api/images/{image.pk}/").status_code == 403
    assert client.delete(f"/api/images/{image.pk}/").status_code == 401
    assert Image.objects.get(pk=image.pk).deleted_at is None
    assert staff_client.delete(f"/api/images/{image.pk}/").status_code == 200
    assert bob_client.post(f"/api/images/{image.pk}/restore/").status_code == 404
    assert staff_client.post(f"/api/images/{image.pk}/restore/").status_code == 200


def test_owner_lists_their_deleted_images_on_request(alice_client, bob_client, user):
    image = store_image(owner=user, color=(20, 200, 200))
    alice_client.delete(f"/api/images/{image.pk}/")

    own = alice_client.get("/api/images/?owner=me&include_deleted=1").json()["results"]

    assert [(item["id"], bool(item["deleted_at"])) for item in own] == [(image.pk, True)]
    assert bob_client.get("/api/images/?owner=me&include_deleted=1").json()["results"] == []
    assert bob_client.get("/api/images/?include_deleted=1").json()["results"] == []


def test_lookup_tells_which_hashes_the_caller_holds(alice_client, bob_client, user):
    kept = store_image(owner=user, color=(120, 20, 200))
    gone = store_image(owner=user, color=(20, 120, 200))
    alice_client.delete(f"/api/images/{gone.pk}/")
    unknown = "0" * 64

    answer = alice_client.post(
        "/api/images/lookup/", {"sha256": [kept.sha256, gone.sha256, unknown]}, content_type="application/json"
    ).json()

    assert answer == {
        "images": {kept.sha256: {"id": kept.pk, "deleted": False}, gone.sha256: {"id": gone.pk, "deleted": True}},
        "purged": [],
    }
    theirs = bob_client.post("/api/images/lookup/", {"sha256": [kept.sha256]}, content_type="application/json").json()
    assert theirs == {"images": {}, "purged": []}


def test_lookup_refuses_malformed_bodies(alice_client):
    response = alice_client.post("/api/images/lookup/", {"sha256": ["abc"]}, content_type="application/json")

    assert response.status_code == 400


def test_private_images_are_hidden_from_everyone_but_owner_and_staff(
    alice_client, bob_client, staff_client, client, user
):
    image = store_image(owner=user, color=(250, 100, 0), visibility="private")

    for outsider in (bob_client, client):
        assert outsider.get("/api/images/").json()["results"] == []
        for suffix in ("", "thumbnail", "original"):
            assert outsider.get(f"/api/images/{image.pk}/{suffix}").status_code == 404
    for insider in (alice_client, staff_client):
        assert [item["id"] for item in insider.get("/api/images/").json()["results"]] == [image.pk]
        assert insider.get(f"/api/images/{image.pk}/original").status_code == 200


def test_unsupported_methods_are_refused(alice_client):
    response = alice_client.put("/api/images/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_owner_changes_visibility_and_others_may_not(alice_client, bob_client, client, user):
    image = store_image(owner=user, color=(30, 60, 250))

    refused = bob_client.patch(f"/api/images/{image.pk}/", {"visibility": "private"}, content_type="application/json")
    bad = alice_client.patch(f"/api/images/{image.pk}/", {"visibility": "friends"}, content_type="application/json")
    changed = alice_client.patch(f"/api/images/{image.pk}/", {"visibility": "private"}, content_type="application/json")

    assert (refused.status_code, bad.status_code, changed.status_code) == (403, 400, 200)
    assert changed.json()["visibility"] == "private"
    assert client.get(f"/api/images/{image.pk}/").status_code == 404
