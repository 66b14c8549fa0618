"""The admin shows an image's labels and finds images by them."""

import pytest
from django.test import Client

from gallery.labels.services import save_labels
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)

TABBY = [
    {"name": "tabby cat", "wnid": "n02123045", "probability": 0.62},
    {"name": "tiger cat", "wnid": "n02123159", "probability": 0.21},
]


@pytest.fixture
def admin_browser(admin_user) -> Client:
    browser = Client()
    browser.force_login(admin_user)
    return browser


def test_changelist_shows_labels_and_searches_them(admin_browser, user):
    cat = store_image(owner=user, color=(200, 120, 40), filename="sofa.png")
    store_image(owner=user, color=(0, 0, 255), filename="sky.png")
    save_labels(labels_by_id={cat.pk: TABBY})

    page = admin_browser.get("/admin/gallery/image/?q=tabby").content.decode()

    assert "sofa.png" in page and "sky.png" not in page
    assert "tabby cat 62%, tiger cat 21%" in page


def test_an_unlabelled_image_says_so(admin_browser, user):
    image = store_image(owner=user, color=(0, 255, 0))

    page = admin_browser.get(f"/admin/gallery/image/{image.pk}/change/").content.decode()

    assert "not labelled yet" in page
