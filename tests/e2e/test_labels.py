"""Labels and descriptions in real Chromium: on the scroller's tiles (on hover and focus) and on the image page, updated live."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from playwright.sync_api import Page, expect

from accounts.services import create_api_token
from gallery.labels.tasks import schedule_labelling
from gallery.models import Image
from tests.e2e.images import store_images
from tests.gallery.labels.conftest import run_worker

TABBY = [
    {"name": "tabby cat", "wnid": "n02123045", "probability": 0.62},
    {"name": "tiger cat", "wnid": "n02123159", "probability": 0.21},
    {"name": "Egyptian cat", "wnid": "n02124075", "probability": 0.08},
    {"name": "lynx", "wnid": "n02127052", "probability": 0.02},
]


def details_of(page: Page, image_id: int):
    return page.locator(f'[data-testid="tile"][data-image-id="{image_id}"] [data-testid="tile-details"]').first


def test_a_tile_shows_its_top_labels_and_description_on_hover_and_focus(open_scroller, user):
    [image] = store_images(owner=user, hue=200)
    # Stored before the page opens, so no live event is involved.
    Image.objects.filter(pk=image.pk).update(labels=TABBY, description="Mia on the sofa")

    page = open_scroller(hue=200)
    tile = page.locator(f'[data-testid="tile"][data-image-id="{image.pk}"]').first
    details = details_of(page, image.pk)
    expect(details).to_have_css("opacity", "0")

    tile.focus()

    expect(details).to_have_css("opacity", "1")
    expect(details).to_have_text("tabby cat 62%tiger cat 21%Egyptian cat 8%Mia on the sofa")
    expect(tile).to_have_attribute(
        "aria-label", f"Image {image.pk} by alice: tabby cat, tiger cat, Egyptian cat, opens the original in a new tab"
    )


def test_an_image_without_labels_shows_nothing_until_its_description_arrives_live(open_scroller, user, daphne_server):
    [image] = store_images(owner=user, hue=120)
    page = open_scroller(hue=120)
    details = details_of(page, image.pk)
    expect(details).to_be_hidden()

    # A PATCH from another client, through the server: the `updated` event starts in the server process.
    _, key = create_api_token(user=user, name="e2e")
    response = requests.patch(
        f"{daphne_server.url}/api/images/{image.pk}/",
        json={"description": "Fresh basil"},
        headers={"Authorization": f"Token {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    page.locator(f'[data-testid="tile"][data-image-id="{image.pk}"]').first.focus()
    expect(details).to_have_text("Fresh basil")


@pytest.fixture
def labels_relayed(settings) -> None:
    """Set before the server forks: on the in-memory channel layer its relay is how it hears of a worker's labels."""
    settings.SCROLLER_LABELS_RELAY_SECONDS = 0.2


def label_as_the_worker_does(image: Image) -> None:
    """The labelling task enqueued as an upload enqueues it, and run by the database backend's worker; in a thread of
    its own, as its commit hook announces the labels (see store_images)."""

    def label() -> None:
        try:
            schedule_labelling(image_ids=[image.pk])
            run_worker()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(label).result()


def test_the_image_page_shows_labels_as_they_land_without_a_reload(labels_relayed, new_page, user):
    [image] = store_images(owner=user, hue=30)
    page = new_page(user=user)
    asked_for_the_image = []
    page.on(
        "request",
        lambda request: (
            asked_for_the_image.append(request.url) if request.url.endswith(f"/api/images/{image.pk}/") else None
        ),
    )
    page.goto(f"/images/{image.pk}/")
    expect(page.get_by_test_id("labels-pending")).to_be_visible()
    loaded_at = page.evaluate("performance.timeOrigin")

    label_as_the_worker_does(image)

    stored = Image.objects.get(pk=image.pk).labels
    assert stored
    expect(page.get_by_test_id("labels-pending")).to_be_hidden()
    expect(page.get_by_test_id("labels").locator("li")).to_have_count(len(stored))
    expect(page.get_by_test_id("labels").locator("li").first).to_contain_text(stored[0]["name"])
    assert page.evaluate("performance.timeOrigin") == loaded_at  # the same page: no reload
    assert asked_for_the_image == []  # told over the websocket, not by asking the API again and again
