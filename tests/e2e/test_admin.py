"""The admin in real Chromium, at the narrowest window the layout is made for."""

from django.utils import timezone

from gallery.models import Image
from tests.e2e.images import store_images

NARROW_WINDOW = {"width": 1280, "height": 800}


def test_the_image_list_fits_a_1280_px_window(new_page, admin_user, user):
    alive, deleted = store_images(owner=user, hue=30, count=2)
    Image.objects.filter(pk=alive.pk).update(original_name="IMG_20240817_183512_HDR.jpg")
    Image.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    page = new_page(user=admin_user)
    page.set_viewport_size(NARROW_WINDOW)

    page.goto("/admin/gallery/image/")

    # Django's admin scrolls a table wider than its column sideways, which hides the last columns.
    results = page.locator("#changelist .results")
    assert results.evaluate("box => box.scrollWidth - box.clientWidth") <= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW_WINDOW["width"]
