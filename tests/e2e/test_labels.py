"""Labels and descriptions on the scroller's tiles, in real Chromium: shown on hover and focus, updated live."""

import requests
from playwright.sync_api import Page, expect

from accounts.services import create_api_token
from gallery.models import Image
from tests.e2e.images import store_images

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
