"""Palette mode of the scroller page in real Chromium: colours and shares asked with sliders, kept in the URL,
and "Colours like this" from an image's page."""

import io
import itertools
import re
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection
from playwright.sync_api import Page, expect

from gallery import services
from gallery.analysis import analyse_image
from gallery.models import Image
from gallery.palette_search.query import colors_like
from tests.e2e.images import solid_color, store_images
from tests.e2e.pages import wait_for_tile_ids
from tests.gallery.images import split_image

TEAL, ORANGE, BLUE = 180, 30, 240
_serial = itertools.count(1)


def store_split(*, owner, first_hue: int, second_hue: int, first_share: float) -> Image:
    """A real PNG whose left `first_share` is one hue and the rest another, analysed and stored as an upload is."""

    def store() -> Image:
        try:
            picture = split_image(
                first=solid_color(first_hue), second=solid_color(second_hue), first_share=first_share, width=200
            )
            serial = next(_serial)
            picture.putpixel((0, 0), (serial % 256, 7, 99))
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            data = buffer.getvalue()
            analysis = analyse_image(data, max_pixels=settings.SCROLLER_MAX_PIXELS)
            new_image = services.NewImage(original_name=f"split-{serial}.png", data=data, analysis=analysis)
            [(image, created)] = services.store_images(owner=owner, new_images=[new_image], visibility="public")
            assert created
            return image
        finally:
            connection.close()

    # In a thread of its own, as tests.e2e.images.store_images explains.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(store).result()


def colors_in_url(page: Page, value: str) -> None:
    expect(page).to_have_url(
        re.compile(rf"[?&]colors={re.escape(value).replace(':', '(:|%3A)').replace(',', '(,|%2C)')}$")
    )


def test_palette_mode_asks_for_colours_and_shares_live_and_the_url_shares_it(open_scroller, user):
    teal_and_orange = store_split(owner=user, first_hue=TEAL, second_hue=ORANGE, first_share=0.6)
    teals = store_images(owner=user, hue=TEAL, count=2)
    [orange] = store_images(owner=user, hue=ORANGE)
    blues = store_images(owner=user, hue=BLUE, count=2)
    page = open_scroller(hue=BLUE)
    wait_for_tile_ids(page, [image.pk for image in blues])

    toggle = page.get_by_test_id("palette-toggle")
    toggle.focus()
    page.keyboard.press("Enter")

    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("palette-panel")).to_be_visible()
    expect(page.get_by_test_id("hue-slider")).to_be_hidden()
    colors_in_url(page, f"{BLUE}:50")
    first_hue = page.get_by_test_id("palette-hue").first
    expect(first_hue).to_be_focused()

    first_hue.fill(str(TEAL))
    weight = page.get_by_test_id("palette-weight").first
    weight.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")

    colors_in_url(page, f"{TEAL}:60")
    wait_for_tile_ids(page, [teal_and_orange.pk, *(image.pk for image in teals)])

    page.get_by_test_id("palette-add").click()
    page.get_by_test_id("palette-hue").nth(1).fill(str(ORANGE))
    colors_in_url(page, f"{TEAL}:60,{ORANGE}:20")
    page.get_by_test_id("palette-remove").first.click()

    colors_in_url(page, f"{ORANGE}:20")
    wait_for_tile_ids(page, [teal_and_orange.pk, orange.pk])

    shared = open_scroller()
    shared.goto(f"/?colors={TEAL}:60,{ORANGE}:20")
    expect(shared.get_by_test_id("palette-color")).to_have_count(2)
    expect(shared.get_by_test_id("palette-weight").first).to_have_value("60")
    expect(shared.get_by_test_id("palette-hue").nth(1)).to_have_value(str(ORANGE))
    wait_for_tile_ids(shared, [teal_and_orange.pk, orange.pk, *(image.pk for image in teals)])

    page.get_by_test_id("palette-weight").first.focus()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("palette-panel")).to_be_hidden()
    expect(toggle).to_be_focused()
    wait_for_tile_ids(page, [image.pk for image in blues])
    expect(page).to_have_url(re.compile(rf"[?&]hue={BLUE}$"))


def test_colours_like_this_opens_the_scroller_on_the_images_own_palette(new_page, user):
    teal_and_orange = store_split(owner=user, first_hue=TEAL, second_hue=ORANGE, first_share=0.6)
    [orange] = store_images(owner=user, hue=ORANGE)
    store_images(owner=user, hue=BLUE)
    page = new_page()
    page.goto(f"/images/{teal_and_orange.pk}/")

    link = page.get_by_test_id("colors-like-this")
    link.focus()
    page.keyboard.press("Enter")

    asked = colors_like(teal_and_orange.palette)
    assert asked is not None and asked.count(",") == 1
    colors_in_url(page, asked)
    expect(page.get_by_test_id("palette-panel")).to_be_visible()
    expect(page.get_by_test_id("palette-color")).to_have_count(2)
    wait_for_tile_ids(page, [teal_and_orange.pk, orange.pk])
