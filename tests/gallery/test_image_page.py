"""The image page /images/<id>/ and what it calls: who sees what, the display rendition, edits."""

import io
import json

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image as PILImage

from gallery import services
from gallery.models import Image
from gallery.page.rendition import DISPLAY_MAX_SIDE, rendition_path
from tests.gallery import images as make
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)

EDIT_CONTROLS = (b'data-testid="description-form"', b'data-testid="delete"', b'data-testid="visibility-toggle"')


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, image: Image):
    return client.get(f"/images/{image.pk}/")


def test_the_owner_sees_the_picture_its_facts_colors_and_edit_controls(user):
    image = store_image(
        owner=user, data=make.two_color_split(first="red", second="blue", first_share=0.7), filename="flag.png"
    )

    response = page(logged_in(user), image)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>flag.png · Scroller</title>" in html
    assert f'src="/api/images/{image.pk}/display"' in html
    assert f'href="/api/images/{image.pk}/original" download="flag.png"' in html
    assert "100 × 50 px" in html and "alice" in html and "PNG" in html
    assert "70% · 0°" in html and "30% · 240°" in html  # swatches with shares and hues
    assert all(control in response.content for control in EDIT_CONTROLS)
    assert 'property="og:image"' in html  # public


def test_someone_else_and_anonymous_visitors_see_a_public_image_read_only(user, other_user, client):
    image = store_image(owner=user)

    for response in (page(logged_in(other_user), image), page(client, image)):
        assert response.status_code == 200
        assert not any(control in response.content for control in EDIT_CONTROLS)
        assert b'data-testid="download"' in response.content
        assert f'<meta property="og:url" content="http://testserver/images/{image.pk}/">'.encode() in response.content


def test_a_private_image_is_a_404_to_all_but_its_owner_and_staff(user, other_user, staff_user, client):
    image = store_image(owner=user, visibility="private")

    assert page(client, image).status_code == 404
    assert page(logged_in(other_user), image).status_code == 404
    owner_view = page(logged_in(user), image)
    staff_view = page(logged_in(staff_user), image)
    assert owner_view.status_code == staff_view.status_code == 200
    assert b"og:image" not in owner_view.content and b'name="robots" content="noindex"' in owner_view.content
    assert all(control in staff_view.content for control in EDIT_CONTROLS)


def test_a_deleted_image_is_a_404_but_to_those_who_may_restore_it(user, other_user, staff_user, client):
    image = store_image(owner=user)
    services.soft_delete_image(actor=user, image_id=image.pk)

    assert page(client, image).status_code == 404
    assert page(logged_in(other_user), image).status_code == 404
    for viewer in (user, staff_user):
        response = page(logged_in(viewer), image)
        assert response.status_code == 200
        assert b'data-testid="restore"' in response.content
        assert b'data-testid="deleted-banner" role="status" >' in response.content  # shown, not hidden
    assert client.get("/images/999999/").status_code == 404


def test_labels_show_as_bars_once_classified_and_until_then_the_page_says_so(user, client):
    image = store_image(owner=user)
    assert b"Being analysed" in page(client, image).content

    Image.objects.filter(pk=image.pk).update(
        labels=[
            {"name": "tabby cat", "wnid": "n02123045", "probability": 0.62},
            {"name": "lynx", "wnid": "n02127052", "probability": 0.2},
        ]
    )

    html = page(client, image).content.decode()
    assert 'data-testid="labels-pending" hidden' in html
    assert 'aria-label="tabby cat"' in html and 'style="width: 62.0%"' in html and "20.0%" in html


def test_the_display_picture_is_made_once_from_the_original_at_display_size(user, client):
    original = make.photo_like(width=2400, height=1200)
    image = store_image(owner=user, data=original, filename="wide.jpg")

    first = client.get(f"/api/images/{image.pk}/display")
    body = first.content

    picture = PILImage.open(io.BytesIO(body))
    assert (first["Content-Type"], picture.format, picture.size) == ("image/jpeg", "JPEG", (DISPLAY_MAX_SIDE, 800))
    assert image.original.name is not None
    path = rendition_path(image.original.name)
    assert default_storage.exists(path)
    # Kept: the second answer is the stored file, even with the original gone.
    default_storage.delete(image.original.name)
    assert client.get(f"/api/images/{image.pk}/display").content == body


def test_the_display_picture_follows_the_page_s_visibility_and_goes_when_purged(user, other_user):
    image = store_image(owner=user, visibility="private")
    assert logged_in(other_user).get(f"/api/images/{image.pk}/display").status_code == 404
    assert logged_in(user).get(f"/api/images/{image.pk}/display").status_code == 200
    assert image.original.name is not None
    path = rendition_path(image.original.name)
    assert default_storage.exists(path)

    services.purge_images(image_ids=[image.pk])

    assert not default_storage.exists(path)


def patch(client, image: Image, body: dict):
    return client.patch(f"/api/images/{image.pk}/", data=json.dumps(body), content_type="application/json")


def test_the_owner_edits_the_description(alice_client, user):
    image = store_image(owner=user)

    response = patch(alice_client, image, {"description": "A red square, at dusk."})

    assert response.status_code == 200
    assert response.json()["description"] == "A red square, at dusk."
    assert Image.objects.get(pk=image.pk).description == "A red square, at dusk."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"description": "x" * 2001}, "description is 2,001 characters, over the limit of 2,000"),
        ({"description": 5}, "description must be a string"),
        ({"description": "fine", "visibility": "secret"}, "visibility must be 'public' or 'private'"),
        ({"colour": "red"}, "send visibility and/or description"),
    ],
)
def test_a_bad_edit_is_a_400_with_the_reason_and_changes_nothing(alice_client, user, body, reason):
    image = store_image(owner=user)

    response = patch(alice_client, image, body)

    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert Image.objects.get(pk=image.pk).description == ""


def test_only_the_owner_or_staff_edit_a_description(bob_client, staff_client, user):
    image = store_image(owner=user)

    assert patch(bob_client, image, {"description": "mine now"}).status_code == 403
    assert patch(staff_client, image, {"description": "moderated"}).status_code == 200
    assert Image.objects.get(pk=image.pk).description == "moderated"


def test_the_admin_change_page_links_to_the_image_page(user, staff_user, django_user_model):
    image = store_image(owner=user)
    admin = django_user_model.objects.create_superuser(username="root", password="x")
    client = logged_in(admin)

    change = client.get(f"/admin/gallery/image/{image.pk}/change/")
    assert change.status_code == 200
    view_on_site = change.context["original"].get_absolute_url()

    assert view_on_site == f"/images/{image.pk}/"
    assert b"View on site" in change.content
