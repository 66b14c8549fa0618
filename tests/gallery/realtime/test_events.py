import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Image
from gallery.realtime import events
from tests.gallery import images as make

pytestmark = pytest.mark.django_db(transaction=True)


def test_writes_that_committed_answer_as_committed_while_redis_is_down(alice_client, own_redis):
    own_redis.stop()
    undelivered = events.undelivered_events.value

    uploaded = alice_client.post("/api/images/", {"file": [SimpleUploadedFile("red.png", make.solid(color="red"))]})
    [result] = uploaded.json()["results"]
    deleted = alice_client.delete(f"/api/images/{result['id']}/")

    assert (uploaded.status_code, result["status"]) == (200, "created")
    assert deleted.status_code == 200
    assert Image.objects.get(pk=result["id"]).deleted_at is not None
    assert events.undelivered_events.value == undelivered + 2
