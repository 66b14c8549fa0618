import hashlib
import lzma

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gallery.models import DominantColor, Image
from tests.gallery import images as make

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client: Client, *files: tuple[str, bytes], **fields) -> dict:
    payload = {"file": [SimpleUploadedFile(name, data) for name, data in files], **fields}
    response = client.post("/api/images/", payload)
    assert response.status_code == 200, response.content
    return response.json()


def stored_files(media_root) -> list:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


def test_one_jpeg_is_stored_with_colors_thumbnail_and_original(alice_client, user, media_root):
    data = make.two_color_split(
        first=(255, 0, 0), second=(0, 0, 255), first_share=0.6, width=300, height=200, image_format="JPEG"
    )

    result = upload(alice_client, ("holiday.jpg", data))["results"]

    assert [r["status"] for r in result] == ["created"]
    image = Image.objects.get(pk=result[0]["id"])
    assert image.owner == user
    assert image.original_name == "holiday.jpg"
    assert image.sha256 == hashlib.sha256(data).hexdigest() == result[0]["sha256"]
    assert (image.format, image.width, image.height, image.byte_size) == ("JPEG", 300, 200, len(data))
    assert image.original.read() == data
    assert lzma.decompress(bytes(image.thumbnail)).startswith(b"\xff\xd8\xff")
    hues = [color.hue for color in image.colors.all() if color.hue is not None]
    assert hues[0] in range(0, 6) or hues[0] in range(355, 360)
    assert abs(hues[1] - 240) <= 5
    assert stored_files(media_root) == [media_root / image.original.name]


def test_a_chunk_of_many_files_gets_one_result_per_file_in_order(alice_client):
    files = [
        (
            f"photo-{index}.img",
            make.solid(
                color=(index * 15, 255 - index * 15, 60), image_format=("PNG", "WEBP", "GIF", "JPEG")[index % 4]
            ),
        )
        for index in range(16)
    ]

    results = upload(alice_client, *files)["results"]

    assert [r["filename"] for r in results] == [name for name, _ in files]
    assert {r["status"] for r in results} == {"created"}
    assert Image.objects.count() == len(files)


def test_a_second_upload_of_the_same_bytes_is_a_duplicate_of_the_first(alice_client, media_root):
    data = make.solid(color=(10, 200, 30), image_format="JPEG")
    first = upload(alice_client, ("a.jpg", data))["results"][0]

    second = upload(alice_client, ("renamed.jpg", data), ("again.jpg", data))["results"]

    assert [r["status"] for r in second] == ["duplicate", "duplicate"]
    assert {r["id"] for r in second} == {first["id"]}
    assert Image.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_the_same_bytes_twice_in_one_chunk_are_stored_once(alice_client):
    data = make.solid(color=(10, 20, 230), image_format="PNG")

    results = upload(alice_client, ("one.png", data), ("two.png", data))["results"]

    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert results[0]["id"] == results[1]["id"]
    assert Image.objects.count() == 1


def test_another_user_may_upload_the_same_bytes(alice_client, bob_client):
    data = make.solid(color=(200, 20, 30), image_format="PNG")

    upload(alice_client, ("mine.png", data))
    theirs = upload(bob_client, ("theirs.png", data))["results"][0]

    assert theirs["status"] == "created"
    assert Image.objects.count() == 2


def test_reuploading_bytes_you_deleted_leaves_them_deleted_and_says_deleted_before(alice_client, media_root):
    data = make.solid(color=(200, 120, 30), image_format="PNG")
    first = upload(alice_client, ("a.png", data))["results"][0]
    assert alice_client.delete(f"/api/images/{first['id']}/").status_code == 200

    again = upload(alice_client, ("renamed.png", data), ("copy.png", data))["results"]

    assert [(r["status"], r["id"]) for r in again] == [("deleted_before", first["id"])] * 2
    assert Image.objects.get().deleted_at is not None
    assert len(stored_files(media_root)) == 1


def test_reuploading_deleted_bytes_with_restore_deleted_brings_the_image_back(alice_client):
    data = make.solid(color=(20, 120, 230), image_format="PNG")
    first = upload(alice_client, ("a.png", data))["results"][0]
    assert alice_client.delete(f"/api/images/{first['id']}/").status_code == 200

    again = upload(alice_client, ("a.png", data), restore_deleted="1")["results"][0]

    assert (again["status"], again["id"]) == ("restored", first["id"])
    assert Image.objects.get(pk=first["id"]).deleted_at is None


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.jpg", b"these are my holiday notes, not a photo\n" * 20, "not an image"),
        ("truncated.jpg", make.truncated(image_format="JPEG"), "truncated"),
        ("corrupt.png", make.corrupt(image_format="PNG"), "corrupt"),
        ("bomb.png", make.decompression_bomb(), "decompression bomb"),
        ("bitmap.bmp", make.solid(color=(1, 2, 3), image_format="BMP"), "BMP"),
    ],
)
def test_bad_files_are_refused_with_a_specific_reason_and_change_nothing(alice_client, media_root, name, data, error):
    good = make.solid(color=(0, 128, 255), image_format="PNG")

    results = upload(alice_client, (name, data), ("good.png", good))["results"]

    assert results[0]["status"] == "rejected"
    assert error in results[0]["error"]
    assert results[0]["id"] is None
    assert results[1]["status"] == "created"
    assert Image.objects.count() == 1
    assert DominantColor.objects.filter(image__original_name=name).count() == 0
    assert len(stored_files(media_root)) == 1


def test_an_image_over_the_pixel_limit_is_refused(alice_client, settings):
    settings.SCROLLER_MAX_PIXELS = 100 * 100

    result = upload(alice_client, ("big.jpg", make.photo_like(width=400, height=300)))["results"][0]

    assert result["status"] == "rejected"
    assert "megapixels" in result["error"] and "limit" in result["error"]


def test_a_file_over_the_size_limit_is_refused_unread(alice_client, settings):
    settings.SCROLLER_MAX_UPLOAD_BYTES = 1000

    result = upload(alice_client, ("large.jpg", make.photo_like(width=400, height=300)))["results"][0]

    assert result["status"] == "rejected"
    assert "over the limit" in result["error"]
    assert result["sha256"] is None


def test_the_client_file_name_is_never_a_path(alice_client, user, media_root):
    result = upload(alice_client, ("../../etc/passwd.png", make.solid(color=(9, 99, 199), image_format="PNG")))[
        "results"
    ][0]

    image = Image.objects.get(pk=result["id"])
    assert image.original_name == "passwd.png"
    assert image.original.name is not None and image.original.name.startswith(f"originals/{user.pk}/")
    assert "passwd" not in image.original.name
    assert all(media_root in path.parents for path in stored_files(media_root))


def test_visibility_field_makes_an_image_private(alice_client):
    result = upload(
        alice_client, ("secret.png", make.solid(color=(9, 99, 199), image_format="PNG")), visibility="private"
    )["results"][0]

    assert Image.objects.get(pk=result["id"]).visibility == "private"


def test_an_unknown_visibility_is_a_bad_request(alice_client):
    response = alice_client.post(
        "/api/images/",
        {
            "file": [SimpleUploadedFile("a.png", make.solid(color=(1, 1, 200), image_format="PNG"))],
            "visibility": "friends",
        },
    )

    assert response.status_code == 400
    assert Image.objects.count() == 0


def test_upload_without_files_is_a_bad_request(alice_client):
    response = alice_client.post("/api/images/", {"other": "x"})

    assert response.status_code == 400
    assert "file" in response.json()["error"]


def test_anonymous_upload_is_refused(client):
    response = client.post(
        "/api/images/", {"file": [SimpleUploadedFile("a.png", make.solid(color=(1, 1, 200), image_format="PNG"))]}
    )

    assert response.status_code == 401
    assert Image.objects.count() == 0


def test_a_wrong_token_is_refused(db):
    response = Client(HTTP_AUTHORIZATION="Token not-a-real-key").post("/api/images/", {})

    assert response.status_code == 401


def test_session_upload_needs_the_csrf_token(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    file = SimpleUploadedFile("a.png", make.solid(color=(1, 1, 200), image_format="PNG"))

    refused = browser.post("/api/images/", {"file": [file]})
    browser.get("/")
    file.seek(0)
    accepted = browser.post("/api/images/", {"file": [file]}, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)

    assert refused.status_code in (401, 403)
    assert accepted.status_code == 200
    assert accepted.json()["results"][0]["status"] == "created"


def test_a_jpeg_html_polyglot_is_kept_as_uploaded_and_served_only_as_an_image(alice_client):
    polyglot = make.solid(color="teal", image_format="JPEG") + b"<html><script>alert(document.cookie)</script></html>"

    [result] = upload(alice_client, ("page.jpg", polyglot))["results"]
    response = alice_client.get(f"/api/images/{result['id']}/original")

    assert result["status"] == "created"
    assert response["Content-Length"] == str(len(polyglot))
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
