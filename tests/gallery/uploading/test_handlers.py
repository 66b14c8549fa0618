import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Image
from tests.gallery import images as make

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_over_the_request_limit_is_refused_whole_with_a_413_json_error(alice_client, settings, media_root):
    settings.SCROLLER_MAX_REQUEST_BYTES = 50_000
    files = [SimpleUploadedFile(f"{index}.jpg", make.photo_like(seed=index)) for index in range(3)]

    response = alice_client.post("/api/images/", {"file": files})

    assert response.status_code == 413
    assert "over the limit of 0.1 MB" in response.json()["error"]
    assert Image.objects.count() == 0
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))


def test_a_file_over_the_file_limit_is_refused_unkept_and_the_others_are_stored(alice_client, settings):
    settings.SCROLLER_MAX_UPLOAD_BYTES = 20_000
    small, large = make.solid(color="red"), make.photo_like(seed=1)
    assert len(small) < 20_000 < len(large)

    response = alice_client.post(
        "/api/images/", {"file": [SimpleUploadedFile("small.png", small), SimpleUploadedFile("large.jpg", large)]}
    )

    [stored, refused] = response.json()["results"]
    assert stored["status"] == "created"
    assert refused["status"] == "rejected"
    assert refused["error"].startswith("file is 0.")
