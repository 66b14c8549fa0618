"""An image's description: set at upload for that request's files, changed with PATCH, shown in the JSON, live."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import services
from gallery.models import Image
from tests.gallery import images as make
from tests.gallery.stored import store_image
from tests.gallery.test_api_upload import upload

pytestmark = pytest.mark.django_db(transaction=True)

TOO_LONG = "x" * 2001


def patch(client, image_id: int, body: dict):
    return client.patch(f"/api/images/{image_id}/", body, content_type="application/json")


def test_an_upload_description_goes_to_the_new_files_of_that_request(alice_client):
    earlier = upload(alice_client, ("red.png", make.solid(color="red")))["results"][0]["id"]

    results = upload(
        alice_client,
        ("blue.png", make.solid(color="blue")),
        ("red-again.png", make.solid(color="red")),
        description="Summer in Brittany",
    )["results"]

    assert [result["status"] for result in results] == ["created", "duplicate"]
    assert alice_client.get(f"/api/images/{results[0]['id']}/").json()["description"] == "Summer in Brittany"
    assert alice_client.get(f"/api/images/{earlier}/").json()["description"] == ""


def test_an_over_long_upload_description_is_a_bad_request_and_stores_nothing(alice_client, media_root):
    response = alice_client.post(
        "/api/images/", {"file": [SimpleUploadedFile("red.png", make.solid())], "description": TOO_LONG}
    )

    assert response.status_code == 400
    assert response.json() == {"error": "description is 2,001 characters, over the limit of 2,000"}
    assert not Image.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_owner_and_staff_change_the_description_and_others_may_not(alice_client, bob_client, staff_client, user):
    image = store_image(owner=user, color=(30, 60, 250))

    changed = patch(alice_client, image.pk, {"description": "A blue door"})
    refused = patch(bob_client, image.pk, {"description": "mine now"})
    by_staff = patch(staff_client, image.pk, {"description": "A blue door, Porto"})

    assert (changed.status_code, refused.status_code, by_staff.status_code) == (200, 403, 200)
    assert changed.json()["description"] == "A blue door"
    assert alice_client.get(f"/api/images/{image.pk}/").json()["description"] == "A blue door, Porto"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"description": TOO_LONG}, "description is 2,001 characters, over the limit of 2,000"),
        ({"description": 42}, "description must be a string"),
        ({"description": "fine", "visibility": "friends"}, "visibility must be 'public' or 'private'"),
        ({}, "send visibility and/or description"),
    ],
)
def test_a_bad_patch_is_a_bad_request_and_changes_nothing(alice_client, user, body, error):
    image = store_image(owner=user, color=(30, 60, 250))
    services.set_description(actor=user, image_id=image.pk, description="as it was")

    response = patch(alice_client, image.pk, body)

    assert response.status_code == 400
    assert response.json() == {"error": error}
    stored = Image.objects.get(pk=image.pk)
    assert (stored.description, stored.visibility) == ("as it was", "public")


def test_a_patch_may_change_visibility_and_description_together(alice_client, user):
    image = store_image(owner=user, color=(30, 60, 250))

    response = patch(alice_client, image.pk, {"description": "Private note", "visibility": "private"})

    assert (response.json()["description"], response.json()["visibility"]) == ("Private note", "private")
