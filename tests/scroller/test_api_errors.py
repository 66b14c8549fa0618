import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Image
from tests.gallery import images as make

pytestmark = pytest.mark.django_db(transaction=True)


def assert_json_error(response, status: int, *, mentions: str = "") -> None:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert mentions in response.json()["error"]


def test_more_files_than_allowed_answer_a_json_400(alice_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [SimpleUploadedFile(f"{index}.png", make.solid(color="red")) for index in range(4)]

    assert_json_error(alice_client.post("/api/images/", {"file": files}), 400, mentions="at most 3")


def test_a_multipart_body_without_a_boundary_answers_a_json_400(alice_client):
    response = alice_client.post("/api/images/", b"--x\r\n\r\n", content_type="multipart/form-data")

    assert_json_error(response, 400, mentions="multipart")


def test_too_many_form_fields_answer_a_json_400(alice_client):
    fields = {f"field{index}": "x" for index in range(2000)}

    assert_json_error(alice_client.post("/api/images/", fields), 400, mentions="too many form fields")


def test_a_huge_form_field_answers_a_json_413(alice_client):
    assert_json_error(alice_client.post("/api/images/", {"visibility": "x" * 5_000_000}), 413, mentions="form fields")


def test_an_unknown_api_url_answers_a_json_404(alice_client):
    assert_json_error(alice_client.get("/api/no-such-thing/"), 404, mentions="not found")


def test_a_method_the_endpoint_does_not_take_answers_a_json_405(alice_client):
    assert_json_error(alice_client.put("/api/images/lookup/"), 405)


def multipart(*files: tuple[str, bytes], boundary: str = "scroller-test") -> bytes:
    """Built by hand: Django's test client trims file names to 255 characters before sending them."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
        + b"Content-Type: application/octet-stream\r\n\r\n"
        + data
        + b"\r\n"
        for name, data in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize("long_name", ["n" * 996 + ".jpg", "é" * 600 + ".jpg"], ids=["1000 ascii", "600 e-acute"])
def test_a_very_long_file_name_is_stored_trimmed_and_fails_nothing_else(alice_client, long_name):
    body = multipart(
        (long_name, make.solid(color="blue", image_format="JPEG")), ("short.png", make.solid(color="green"))
    )

    response = alice_client.post("/api/images/", body, content_type="multipart/form-data; boundary=scroller-test")

    assert response.status_code == 200, response.content[:300]
    assert [result["status"] for result in response.json()["results"]] == ["created", "created"]
    stored_long_name = Image.objects.get(original_name__endswith=".jpg").original_name
    assert len(stored_long_name) == 255
    assert stored_long_name.startswith(long_name[:10])


DEEP_JSON = "[" * 1000 + "]" * 1000


def test_deeply_nested_json_answers_a_json_400(alice_client):
    patched = alice_client.patch("/api/images/1/", DEEP_JSON, content_type="application/json")
    looked_up = alice_client.post("/api/images/lookup/", DEEP_JSON, content_type="application/json")

    assert_json_error(patched, 400, mentions="JSON")
    assert_json_error(looked_up, 400, mentions="JSON")
