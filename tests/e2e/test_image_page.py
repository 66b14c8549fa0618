"""The image page in real Chromium: reached from a scroller tile, edited, and shown as a mosaic."""

import re

from playwright.sync_api import expect

from gallery.models import Image
from tests.e2e.images import store_images
from tests.e2e.pages import wait_for_tile_ids


def test_from_a_scroller_tile_to_its_page_then_edit_the_description_and_see_the_mosaic(open_scroller, user):
    shown = store_images(owner=user, hue=200, count=3, size=(96, 72))
    store_images(owner=user, hue=20, count=2)  # more tiles for the mosaic, another stream
    page = open_scroller(user=user, hue=200)
    wait_for_tile_ids(page, [image.pk for image in shown])
    page.get_by_test_id("play-toggle").click()

    tile = page.locator('[data-testid="tile"]').first
    image_id = int(tile.get_attribute("data-image-id"))
    frame = tile.locator("xpath=..")
    info = frame.get_by_test_id("tile-info")
    expect(info).to_have_css("opacity", "0")
    tile.focus()  # keyboard focus on the tile shows its info control, as hovering does
    expect(info).to_have_css("opacity", "1")
    page.keyboard.press("Tab")  # the control comes right after its tile, and Enter follows it
    expect(info).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/images/{image_id}/$"))
    expect(page.get_by_test_id("image-title")).to_have_text(re.compile(r"hue-200-\d\.png"))
    expect(page.get_by_test_id("display-image")).to_have_js_property("complete", True)
    assert page.get_by_test_id("display-image").evaluate("img => img.naturalWidth") == 96
    # Opened from the scroller, the arrow keys walk the images it showed, in the order it showed them.
    stream = page.evaluate("JSON.parse(sessionStorage.getItem('scroller:stream'))")
    assert sorted(stream) == sorted(image.pk for image in shown)
    here = stream.index(image_id)
    key, neighbour = ("ArrowRight", stream[here + 1]) if here + 1 < len(stream) else ("ArrowLeft", stream[here - 1])
    page.keyboard.press(key)
    expect(page).to_have_url(re.compile(rf"/images/{neighbour}/$"))
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/images/{image_id}/$"))

    page.get_by_test_id("description-input").fill("Cyan, three of a kind.")
    page.get_by_test_id("description-save").click()
    expect(page.get_by_test_id("status")).to_have_text("Description saved.")
    expect(page.get_by_test_id("description")).to_have_text("Cyan, three of a kind.")
    assert Image.objects.get(pk=image_id).description == "Cyan, three of a kind."

    page.get_by_test_id("mosaic-cells").select_option("16")
    page.get_by_test_id("mosaic-button").click()
    mosaic = page.get_by_test_id("mosaic-image")
    expect(mosaic).to_be_visible()
    assert mosaic.evaluate("img => img.naturalWidth") == 16 * 16

    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/$"))
