"""The search box of the scroller page in real Chromium: Enter searches, the URL keeps it, Esc and ✕ go back to the hue."""

import re
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from playwright.sync_api import expect

from gallery.labels.services import save_labels
from gallery.models import Image
from tests.e2e.images import store_images
from tests.e2e.pages import wait_for_tile_ids
from tests.gallery.labelled import TABBY, labels


def ids(images: list[Image]) -> list[int]:
    return [image.pk for image in images]


def land_labels(image: Image, labelled: list[dict]) -> None:
    """As the labelling task does; in a thread of its own, as its commit hook announces the change (see store_images)."""

    def land() -> None:
        try:
            save_labels(labels_by_id={image.pk: labelled})
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(land).result()


def test_the_search_box_streams_matches_keeps_the_query_in_the_url_and_esc_or_x_go_back_to_the_hue(open_scroller, user):
    reds = store_images(owner=user, hue=0, count=2)
    blues = store_images(owner=user, hue=240, count=2)
    [cat] = store_images(owner=user, hue=120)
    land_labels(cat, labels((TABBY, 0.9)))
    page = open_scroller(hue=240)
    wait_for_tile_ids(page, ids(blues))
    search = page.get_by_test_id("search-input")

    search.fill("red")
    search.press("Enter")

    wait_for_tile_ids(page, ids(reds))
    expect(page).to_have_url(re.compile(r"[?&]q=red$"))
    expect(page.get_by_test_id("search-clear")).to_be_visible()

    search.fill("Cats")
    search.press("Enter")
    wait_for_tile_ids(page, [cat.pk])

    search.fill("xyzzy")
    search.press("Enter")
    expect(page.get_by_text("Nothing found for “xyzzy”.")).to_be_visible()
    expect(page.get_by_test_id("tile")).to_have_count(0)

    search.press("Escape")
    wait_for_tile_ids(page, ids(blues))
    expect(page).to_have_url(re.compile(r"[?&]hue=240$"))
    expect(search).to_have_value("")

    shared = open_scroller()
    shared.goto("/?q=red")
    wait_for_tile_ids(shared, ids(reds))
    expect(shared.get_by_test_id("search-input")).to_have_value("red")
    shared.get_by_test_id("search-clear").click()
    # Back to the hue stream at the default 200°, widened to ±60° where only the blues are.
    wait_for_tile_ids(shared, ids(blues))
    expect(shared).not_to_have_url(re.compile(r"q="))
