"""The README's picture of the scroller, taken from a real run so that it always shows the product as it is."""

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.images import store_photographs

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "scroller.png"
# Warm yellows and oranges (autumn leaves, sunsets, wood): the hue most of the installed photographs have plenty of.
HUE = 35
SHOWN = 12


def test_the_scroller_streams_real_photographs_and_the_readme_shows_it(open_scroller, user):
    store_photographs(owner=user)
    page = open_scroller(hue=HUE)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    page.wait_for_function("(shown) => document.querySelectorAll('.tile.is-loaded').length >= shown", arg=SHOWN)
    toggle = page.get_by_test_id("play-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("data-paused", "true")

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT)

    expect(page.locator(".tile.is-broken")).to_have_count(0)
    assert SCREENSHOT.stat().st_size > 50_000
