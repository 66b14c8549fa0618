"""The scroller page in real Chromium: the stream, the hue slider, delete and undo, reconnecting, a bounded DOM."""

import re

from playwright.sync_api import Page, expect

from gallery.models import Image
from tests.e2e.images import image_bytes, store_images
from tests.e2e.pages import UPLOAD_WAIT_MS, click_tile, matches_hue, tile_ids, wait_for_tile_ids, wait_for_upload_code


def ids(images: list[Image]) -> list[int]:
    return [image.pk for image in images]


def tiles_of(page: Page, image: Image):
    return page.locator(f'[data-testid="tile"][data-image-id="{image.pk}"]')


def pause(page: Page) -> None:
    """Stop the drift, as a user does before aiming at a tile."""
    toggle = page.get_by_test_id("play-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("data-paused", "true")


def test_an_anonymous_visitor_sees_the_public_images_of_the_current_hue_stream_in(open_scroller, user):
    cyan = store_images(owner=user, hue=200, count=3)
    store_images(owner=user, hue=200, visibility="private")
    store_images(owner=user, hue=0, count=2)

    page = open_scroller()

    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("hue-slider")).to_have_value("200")
    wait_for_tile_ids(page, ids(cyan))
    assert all(matches_hue(image_id, hue=200) for image_id in tile_ids(page))
    # Decoded in the page from the xz-wrapped JPEG the socket sent, at the stored thumbnail's size.
    thumbnail = page.locator(f'.tile.is-loaded[data-image-id="{cyan[0].pk}"] img').first
    assert thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [
        cyan[0].thumbnail_width,
        cyan[0].thumbnail_height,
    ]
    expect(page.locator(".tile.is-broken")).to_have_count(0)
    # Visitors may open originals but neither delete nor upload.
    expect(tiles_of(page, cyan[0]).first).to_have_attribute("href", re.compile(rf"/api/images/{cyan[0].pk}/original$"))
    expect(page.get_by_test_id("upload-panel")).to_have_count(0)


def test_moving_the_hue_slider_shows_only_images_of_the_chosen_hue(open_scroller, user):
    reds = store_images(owner=user, hue=0, count=2)
    greens = store_images(owner=user, hue=120, count=2)
    blues = store_images(owner=user, hue=240, count=3)
    page = open_scroller(hue=120)
    wait_for_tile_ids(page, ids(greens))
    slider = page.get_by_test_id("hue-slider")

    slider.fill("240")

    wait_for_tile_ids(page, ids(blues))
    assert all(matches_hue(image_id, hue=240) for image_id in tile_ids(page))
    expect(page).to_have_url(re.compile(r"[?&]hue=240$"))

    slider.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")

    expect(slider).to_have_value("1")
    wait_for_tile_ids(page, ids(reds))
    assert all(matches_hue(image_id, hue=1) for image_id in tile_ids(page))


def test_deleting_an_image_removes_it_from_every_open_page_and_undo_brings_it_back(open_scroller, user):
    image, kept = store_images(owner=user, hue=200, count=2)
    owner_page = open_scroller(user=user)
    watcher_page = open_scroller()
    for page in (owner_page, watcher_page):
        wait_for_tile_ids(page, [image.pk, kept.pk])
    pause(owner_page)

    expect(tiles_of(owner_page, image).first).to_have_attribute("data-hint", "Delete")
    click_tile(owner_page, image.pk)
    undo = owner_page.get_by_test_id("undo")
    # Focus on the toast keeps it from expiring while the other page is checked.
    undo.focus()

    expect(tiles_of(watcher_page, image)).to_have_count(0)
    expect(tiles_of(owner_page, image)).to_have_count(0)
    image.refresh_from_db()
    assert image.deleted_at is not None
    expect(tiles_of(watcher_page, kept)).not_to_have_count(0)

    undo.click()

    expect(tiles_of(watcher_page, image).first).to_be_attached()
    expect(tiles_of(owner_page, image).first).to_be_attached()
    image.refresh_from_db()
    assert image.deleted_at is None


def test_nobody_can_delete_an_image_they_do_not_own(open_scroller, user, other_user):
    [image] = store_images(owner=user, hue=200)
    page = open_scroller(user=other_user)
    wait_for_tile_ids(page, [image.pk])
    pause(page)
    expect(tiles_of(page, image).first).to_have_attribute("data-hint", "Open original")

    with page.expect_popup() as opened:
        click_tile(page, image.pk)

    original = opened.value
    original.wait_for_load_state()
    assert original.url.endswith(f"/api/images/{image.pk}/original")
    image.refresh_from_db()
    assert image.deleted_at is None

    # A delete sent over the socket by hand is refused by the server, not only hidden by the page.
    refusal = page.evaluate(
        """(id) => new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://${location.host}/ws/scroller/`);
            ws.onopen = () => ws.send(JSON.stringify({type: 'delete', id}));
            ws.onmessage = ({data}) => {
                const message = JSON.parse(data);
                if (message.type === 'error') { ws.close(); resolve(message); }
            };
            ws.onclose = () => reject(new Error('closed without an answer'));
        })""",
        image.pk,
    )
    assert refusal == {
        "type": "error",
        "code": "forbidden",
        "message": "Only the owner or staff may delete this image.",
        "id": image.pk,
    }
    image.refresh_from_db()
    assert image.deleted_at is None
    expect(tiles_of(page, image).first).to_be_attached()


def test_the_page_reconnects_by_itself_after_a_server_restart_and_the_stream_carries_on(
    open_scroller, daphne_server, user, tmp_path
):
    [before] = store_images(owner=user, hue=200)
    page = open_scroller(user=user)
    status = page.get_by_test_id("ws-status")
    expect(status).to_have_attribute("data-state", "open")
    wait_for_tile_ids(page, [before.pk])
    # The upload code is imported after the page: a restart before it arrived would fail that import (a race under load).
    wait_for_upload_code(page)
    page.evaluate(
        """() => {
            const status = document.querySelector('[data-testid="ws-status"]');
            window.connectionStates = [];
            new MutationObserver(() => window.connectionStates.push(status.dataset.state))
                .observe(status, {attributes: true, attributeFilter: ['data-state']});
        }"""
    )

    daphne_server.restart()

    page.wait_for_function(
        """() => window.connectionStates.includes('closed')
            && document.querySelector('[data-testid="ws-status"]').dataset.state === 'open'"""
    )
    after_restart = tmp_path / "after-restart.png"
    after_restart.write_bytes(image_bytes(hue=200, size=(80, 40)))
    page.get_by_role("button", name="Upload").click()
    page.get_by_test_id("file-input").set_input_files(after_restart)
    expect(page.get_by_test_id("upload-summary")).to_have_text("Done: 1 stored.", timeout=UPLOAD_WAIT_MS)
    uploaded = Image.objects.get(owner=user, original_name="after-restart.png")
    wait_for_tile_ids(page, [before.pk, uploaded.pk])


def test_the_page_holds_a_bounded_number_of_tiles_however_far_it_scrolls(open_scroller, user):
    # Short tiles, so that many pass by for each turn of the wheel.
    catalogue = store_images(owner=user, hue=200, count=200, size=(96, 24))
    page = open_scroller()
    expect(page.get_by_test_id("tile").first).to_be_attached()
    screenful = page.evaluate(
        """() => {
            const stream = document.querySelector('[data-testid="stream"]');
            const tile = stream.querySelector('[data-testid="tile"]');
            const columns = Number(getComputedStyle(stream).getPropertyValue('--columns'));
            const step = tile.offsetHeight + parseFloat(getComputedStyle(stream).columnGap);
            return Math.ceil(columns * stream.clientHeight / step);
        }"""
    )
    page.evaluate(
        """() => {
            const stream = document.querySelector('[data-testid="stream"]');
            const count = () => stream.querySelectorAll('[data-testid="tile"]').length;
            const seen = window.tilesSeen = {added: count(), most: count(), ids: new Set()};
            stream.querySelectorAll('[data-testid="tile"]').forEach((tile) => seen.ids.add(Number(tile.dataset.imageId)));
            new MutationObserver((records) => {
                for (const record of records) {
                    for (const node of record.addedNodes) {
                        // A tile comes in a frame with its info control.
                        const tile = node.dataset?.testid === 'tile' ? node : node.querySelector?.('[data-testid="tile"]');
                        if (!tile) continue;
                        seen.added += 1;
                        seen.ids.add(Number(tile.dataset.imageId));
                    }
                }
                seen.most = Math.max(seen.most, count());
            }).observe(stream, {childList: true, subtree: true});
        }"""
    )
    page.mouse.move(640, 400)

    # Wheel down until the stream has gone through the whole catalogue and on into its next round.
    added = 0
    while added < 250:
        page.mouse.wheel(0, 1500)
        page.wait_for_function("(before) => window.tilesSeen.added > before", arg=added)
        added = page.evaluate("() => window.tilesSeen.added")

    shown = page.evaluate("() => [...window.tilesSeen.ids]")
    most = page.evaluate("() => window.tilesSeen.most")
    assert sorted(shown) == ids(catalogue)
    # The screen, a screen of lookahead below it and a batch on its way: never the whole history.
    assert most <= 3 * screenful < 250, f"{most} tiles in the page at once; a screen holds {screenful}"
    expect(page.get_by_test_id("tile")).not_to_have_count(0)


def test_the_page_says_when_it_shows_wider_matches_until_a_close_image_arrives(open_scroller, user):
    store_images(owner=user, hue=80, count=2)
    page = open_scroller(hue=0)
    notice = page.get_by_test_id("widened-notice")

    expect(notice).to_have_text("Nothing at this hue yet — showing ±90°")
    expect(notice).to_be_visible()

    [red] = store_images(owner=user, hue=0)

    expect(tiles_of(page, red).first).to_be_attached()
    expect(notice).to_be_hidden()
