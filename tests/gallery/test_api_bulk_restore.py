"""POST /api/images/restore/: undo many deletions in one request, owner or staff."""

import pytest
from django.utils import timezone

from gallery.models import Image

pytestmark = pytest.mark.django_db(transaction=True)


def restore(client, ids) -> tuple[int, dict]:
    response = client.post("/api/images/restore/", {"ids": ids}, content_type="application/json")
    return response.status_code, response.json()


def test_the_owner_restores_many_deleted_images_at_once(alice_client, make_image):
    deleted = [make_image(deleted=True) for _ in range(3)]
    alive = make_image()

    status, body = restore(alice_client, [image.pk for image in deleted] + [alive.pk])

    assert status == 200
    assert body == {"restored": sorted([image.pk for image in deleted] + [alive.pk]), "not_found": []}
    assert not Image.objects.filter(deleted_at__isnull=False).exists()


def test_others_images_are_not_found_and_stay_deleted(bob_client, make_image):
    theirs = make_image(deleted=True)

    status, body = restore(bob_client, [theirs.pk, 999_999])

    assert (status, body) == (200, {"restored": [], "not_found": [theirs.pk, 999_999]})
    assert Image.objects.get(pk=theirs.pk).deleted_at is not None


def test_staff_may_restore_anyones_images(staff_client, make_image):
    image = make_image(deleted=True)

    status, body = restore(staff_client, [image.pk])

    assert (status, body["restored"]) == (200, [image.pk])
    assert Image.objects.get(pk=image.pk).deleted_at is None


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"ids": "1,2"}, "image ids"),
        ({"ids": [1, "2"]}, "image ids"),
        ({"ids": [True]}, "image ids"),
        ({"ids": list(range(1, 1002))}, "at most 1000"),
    ],
)
def test_a_malformed_request_is_refused_and_changes_nothing(alice_client, make_image, payload, error):
    image = make_image(deleted=True)

    response = alice_client.post("/api/images/restore/", payload, content_type="application/json")

    assert response.status_code == 400 and error in response.json()["error"]
    assert Image.objects.get(pk=image.pk).deleted_at is not None
    assert Image.objects.filter(deleted_at__lte=timezone.now()).count() == 1


def test_anonymous_visitors_must_log_in(client, make_image):
    image = make_image(deleted=True)

    assert restore(client, [image.pk])[0] == 401
