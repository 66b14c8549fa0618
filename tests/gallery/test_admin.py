import pytest
from django.test import Client

from gallery.models import Image
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_browser(admin_user) -> Client:
    browser = Client()
    browser.force_login(admin_user)
    return browser


def test_changelist_shows_thumbnail_preview_and_color_swatches(admin_browser, user):
    image = store_image(owner=user, color=(255, 0, 0), filename="red-door.png")

    page = admin_browser.get("/admin/gallery/image/").content.decode()

    assert "red-door.png" in page
    assert f"/admin/gallery/image/{image.pk}/preview/" in page
    assert "background:#ff0000" in page


def test_preview_serves_the_thumbnail_unwrapped(admin_browser, user):
    image = store_image(owner=user, color=(0, 0, 255))

    response = admin_browser.get(f"/admin/gallery/image/{image.pk}/preview/")

    assert response["Content-Type"] == "image/jpeg"
    assert response.content.startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize(
    "query",
    [
        "deleted=yes",
        "deleted=no",
        "is_monochrome__exact=1",
        "visibility__exact=private",
        "q=door",
        "owner__id__exact=1",
    ],
)
def test_filters_and_search_answer(admin_browser, user, query):
    store_image(owner=user, color=(255, 0, 0), filename="red-door.png")

    assert admin_browser.get(f"/admin/gallery/image/?{query}").status_code == 200


def test_search_by_file_name(admin_browser, user):
    store_image(owner=user, color=(255, 0, 0), filename="red-door.png")
    store_image(owner=user, color=(0, 255, 0), filename="green-field.png")

    page = admin_browser.get("/admin/gallery/image/?q=door").content.decode()

    assert "red-door.png" in page and "green-field.png" not in page


def test_detail_page_shows_colors(admin_browser, user):
    image = store_image(owner=user, color=(0, 255, 0))

    page = admin_browser.get(f"/admin/gallery/image/{image.pk}/change/").content.decode()

    assert "background:#00ff00" in page


def test_detail_page_links_the_original_through_the_api_which_checks_permissions(admin_browser, client, user):
    image = store_image(owner=user, color=(0, 0, 255), filename="blue-sea.png", visibility="private")
    api_url = f"/api/images/{image.pk}/original"

    page = admin_browser.get(f"/admin/gallery/image/{image.pk}/change/").content.decode()
    original = admin_browser.get(api_url)

    assert f'<a href="{api_url}">blue-sea.png</a>' in page
    assert "/media/" not in page
    assert original.status_code == 200
    assert int(original["Content-Length"]) == image.byte_size
    assert client.get(api_url).status_code == 404


def test_actions_soft_delete_restore_and_purge(admin_browser, user, media_root):
    image = store_image(owner=user, color=(200, 100, 0))

    def act(action: str):
        return admin_browser.post(
            "/admin/gallery/image/", {"action": action, "_selected_action": [image.pk]}, follow=True
        )

    act("soft_delete")
    assert Image.objects.get(pk=image.pk).deleted_at is not None
    act("restore")
    assert Image.objects.get(pk=image.pk).deleted_at is None
    act("purge")
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not (media_root / image.original.name).exists()


def test_admin_needs_staff(client, user):
    client.force_login(user)

    assert client.get("/admin/gallery/image/").status_code == 302


def test_a_description_edited_in_the_admin_is_found_by_search(admin_browser, client, user):
    image = store_image(owner=user, color=(0, 0, 255), filename="sea.png")
    colors = list(image.colors.order_by("pk").values_list("pk", flat=True))
    form = {
        "original_name": "harbour.png",
        "owner": user.pk,
        "visibility": "public",
        "description": "lighthouse at dusk",
        "colors-TOTAL_FORMS": len(colors),
        "colors-INITIAL_FORMS": len(colors),
        "colors-MIN_NUM_FORMS": 0,
        "colors-MAX_NUM_FORMS": 1000,
        **{f"colors-{index}-id": color for index, color in enumerate(colors)},
        **{f"colors-{index}-image": image.pk for index in range(len(colors))},
    }

    response = admin_browser.post(f"/admin/gallery/image/{image.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    for query, expected in (("lighthouse", [image.pk]), ("harbour", [image.pk]), ("sea", [])):
        results = client.get("/api/images/", {"q": query}).json()["results"]
        assert [item["id"] for item in results] == expected, query
