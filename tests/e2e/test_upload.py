"""Uploading in real Chromium: logging in, the file picker, dropping files on the page."""

import base64
from urllib.parse import urlsplit

from playwright.sync_api import JSHandle, Page, expect

from gallery.models import Image
from tests.e2e.images import image_bytes, store_images
from tests.e2e.pages import (
    UPLOAD_WAIT_MS,
    open_scroller_holding_upload_code,
    wait_for_tile_ids,
    wait_for_upload_code,
)

PASSWORD = "correct horse battery staple"


def result_for(page: Page, filename: str):
    results = page.get_by_test_id("upload-result")
    return results.filter(has=page.locator(".result-name").get_by_text(filename, exact=True))


def data_transfer(page: Page, files: list[tuple[str, str, bytes]]) -> JSHandle:
    """A DataTransfer holding Files built in the page from (name, media type, bytes), as a drag from the desktop carries."""
    return page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const {name, type, data} of files) {
                const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
                transfer.items.add(new File([bytes], name, {type}));
            }
            return transfer;
        }""",
        [
            {"name": name, "type": media_type, "data": base64.b64encode(data).decode()}
            for name, media_type, data in files
        ],
    )


def test_logging_in_and_picking_files_reports_each_file_and_shows_the_new_images_of_the_hue(
    new_page, daphne_server, user, tmp_path
):
    red = tmp_path / "red.png"
    red.write_bytes(image_bytes(hue=0))
    red_copy = tmp_path / "red-copy.png"
    red_copy.write_bytes(red.read_bytes())
    blue = tmp_path / "blue.png"
    blue.write_bytes(image_bytes(hue=240))
    fake = tmp_path / "fake.jpg"
    fake.write_text("this is text, not a JPEG\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image either\n")
    # Something red is there already: at an empty hue the stream would widen to every hue, blue included.
    [earlier_red] = store_images(owner=user, hue=0)
    page = new_page()
    page.goto("/accounts/login/?next=/%3Fhue%3D0")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{daphne_server.url}/?hue=0")
    expect(page.locator(".account-name")).to_have_text(user.username)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")

    page.get_by_role("button", name="Upload").click()
    page.get_by_test_id("file-input").set_input_files([red, red_copy, blue, fake, notes])

    expect(page.get_by_test_id("upload-summary")).to_have_text(
        "Done: 2 stored, 1 duplicate, 1 refused, 1 skipped (not images).", timeout=UPLOAD_WAIT_MS
    )
    page.get_by_text("Each file").click()
    # Files that are not images are counted, not listed.
    expect(page.get_by_test_id("upload-result")).to_have_count(4)
    expect(result_for(page, "red.png")).to_have_attribute("data-status", "created")
    expect(result_for(page, "red-copy.png")).to_have_attribute("data-status", "duplicate")
    expect(result_for(page, "blue.png")).to_have_attribute("data-status", "created")
    expect(result_for(page, "fake.jpg")).to_have_attribute("data-status", "rejected")
    expect(result_for(page, "fake.jpg").locator(".result-reason")).to_have_text(
        "not an image: expected JPEG, PNG, WebP or GIF"
    )
    expect(result_for(page, "notes.txt")).to_have_count(0)
    uploaded = Image.objects.filter(owner=user).exclude(pk=earlier_red.pk)
    assert sorted(uploaded.values_list("original_name", flat=True)) == ["blue.png", "red.png"]
    # Only the red ones match the page's hue.
    wait_for_tile_ids(page, [earlier_red.pk, uploaded.get(original_name="red.png").pk])


def test_files_picked_before_the_upload_code_has_loaded_are_uploaded(new_page, user, tmp_path):
    """On a slow machine a person can pick files before the lazily loaded upload module has arrived."""
    red = tmp_path / "red.png"
    red.write_bytes(image_bytes(hue=0))
    page, upload_code = open_scroller_holding_upload_code(new_page, user=user, path="/?hue=0")

    page.get_by_test_id("file-input").set_input_files([red])
    upload_code.continue_()

    expect(page.get_by_test_id("upload-summary")).to_have_text("Done: 1 stored.", timeout=UPLOAD_WAIT_MS)
    assert Image.objects.filter(owner=user, original_name="red.png").exists()


def test_files_are_uploaded_unhashed_when_the_hashing_workers_cannot_load(new_page, user, tmp_path):
    """A worker script that fails to load (the server restarting as the page opened, say) must not hold files back."""
    red = tmp_path / "red.png"
    red.write_bytes(image_bytes(hue=0))
    page = new_page(user=user)
    page.route("**/static/scroller/hash-worker.js", lambda route: route.abort())
    page.goto("/")
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    wait_for_upload_code(page)

    page.get_by_role("button", name="Upload").click()
    page.get_by_test_id("file-input").set_input_files([red])

    expect(page.get_by_test_id("upload-summary")).to_have_text("Done: 1 stored.", timeout=UPLOAD_WAIT_MS)
    assert Image.objects.filter(owner=user, original_name="red.png").exists()


def test_files_dropped_on_the_page_are_uploaded_and_appear(open_scroller, user):
    page = open_scroller(user=user, hue=120)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    wait_for_upload_code(page)
    drop_zone = page.get_by_test_id("drop-zone")
    transfer = data_transfer(
        page, [("green.png", "image/png", image_bytes(hue=120)), ("notes.txt", "text/plain", b"hello\n")]
    )

    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    expect(drop_zone).to_be_visible()
    drop_zone.dispatch_event("dragover", {"dataTransfer": transfer})
    drop_zone.dispatch_event("drop", {"dataTransfer": transfer})

    expect(drop_zone).to_be_hidden()
    expect(page.get_by_test_id("upload-summary")).to_have_text(
        "Done: 1 stored, 1 skipped (not images).", timeout=UPLOAD_WAIT_MS
    )
    green = Image.objects.get(owner=user, original_name="green.png")
    wait_for_tile_ids(page, [green.pk])


def test_a_drag_begun_before_the_upload_code_has_loaded_shows_the_drop_zone_on_its_next_dragover(new_page, user):
    page, upload_code = open_scroller_holding_upload_code(new_page, user=user, path="/?hue=120")
    transfer = data_transfer(page, [("green.png", "image/png", image_bytes(hue=120))])
    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})

    upload_code.continue_()
    wait_for_upload_code(page)
    page.dispatch_event("body", "dragover", {"dataTransfer": transfer})

    expect(page.get_by_test_id("drop-zone")).to_be_visible()


def test_a_visitor_dropping_files_is_asked_to_log_in_and_nothing_is_uploaded(open_scroller):
    page = open_scroller()
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    transfer = data_transfer(page, [("green.png", "image/png", image_bytes(hue=120))])

    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event("body", "drop", {"dataTransfer": transfer})

    expect(page.get_by_text("Log in to upload images.")).to_be_visible()
    expect(page.get_by_test_id("drop-zone")).to_have_count(0)
    # Still the scroller (whose address keeps its hue), not the dropped file displayed instead.
    assert urlsplit(page.url).path == "/"
    assert not Image.objects.exists()
