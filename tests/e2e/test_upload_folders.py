"""Folders dropped on the page from disk: thousands of files, a refresh in the middle, files deleted before."""

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Locator, Page, Response, expect

from gallery import services
from gallery.models import Image
from tests.e2e.images import store_files, write_photo_folder
from tests.e2e.pages import drop_folder

# Thousands of tiny files through one ingest worker on a shared machine.
FOLDER_WAIT_MS = 240_000
ROW_LIMIT = 40
HEAP_LIMIT_BYTES = 150 * 1024 * 1024


@pytest.fixture(scope="module")
def large_folder(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("large") / "holiday"
    return folder, write_photo_folder(folder, count=2000, others=100)


@pytest.fixture(scope="module")
def resume_folder(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("resume") / "camera"
    return folder, write_photo_folder(folder, count=800, per_subfolder=200)


def in_thread(action: Callable[[], object]) -> None:
    """Writes whose commit hooks announce events (async_to_sync) cannot run on Playwright's thread."""

    def run() -> None:
        try:
            action()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(run).result()


def summary(page: Page):
    return page.get_by_test_id("upload-summary")


def stored_so_far(page: Page, *, at_least: int) -> None:
    page.wait_for_function(
        """(wanted) => {
            const match = document.querySelector('[data-testid="upload-summary"]').textContent.match(/(\\d+) stored/);
            return match && Number(match[1]) >= wanted;
        }""",
        arg=at_least,
        timeout=FOLDER_WAIT_MS,
    )


def numbers_in(locator: Locator, pattern: str) -> list[int]:
    match = re.search(pattern, locator.text_content() or "")
    assert match, f"{pattern!r} not in {locator.text_content()!r}"
    return [int(group) for group in match.groups()]


def uploads_answered(page: Page) -> list[Response]:
    """Every answer to an upload request the page makes from now on: what the server received, file by file."""
    answered: list[Response] = []
    page.on(
        "response",
        lambda response: (
            answered.append(response)
            if response.request.method == "POST" and response.url.endswith("/api/images/")
            else None
        ),
    )
    return answered


def test_a_folder_of_thousands_of_files_is_uploaded_with_a_bounded_page_while_the_columns_hold_still(
    open_scroller, user, large_folder
):
    folder, photos = large_folder
    page = open_scroller(user=user)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")

    drop_folder(page, folder)

    expect(page.get_by_test_id("play-toggle")).to_have_attribute("data-paused", "true")
    expect(summary(page)).to_have_text(f"Done: {len(photos)} stored, 100 skipped (not images).", timeout=FOLDER_WAIT_MS)
    expect(page.get_by_test_id("play-toggle")).to_have_attribute("data-paused", "false")
    assert Image.objects.filter(owner=user).count() == len(photos)
    page.get_by_text("Each file").click()
    rows = page.get_by_test_id("upload-result")
    # The list is drawn on the next frame after it opens.
    expect(rows.first).to_be_visible()
    assert rows.count() <= ROW_LIMIT
    page.get_by_label("Upload results").evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
    expect(page.locator(f'[data-testid="upload-result"][aria-posinset="{len(photos)}"]')).to_have_attribute(
        "data-status", "created"
    )
    assert rows.count() <= ROW_LIMIT
    assert page.evaluate("performance.memory.usedJSHeapSize") < HEAP_LIMIT_BYTES


def test_after_a_refresh_the_page_says_the_upload_was_interrupted_and_a_new_drop_sends_only_what_is_missing(
    open_scroller, user, resume_folder
):
    folder, photos = resume_folder
    page = open_scroller(user=user)
    # The page asks before leaving with an upload under way; the user says leave.
    page.on("dialog", lambda dialog: dialog.accept())
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    drop_folder(page, folder)
    stored_so_far(page, at_least=150)

    page.reload()

    notice = page.get_by_test_id("upload-resume")
    expect(notice).to_contain_text("Your last upload from “camera”")
    stored_before, found_before = numbers_in(notice, r"interrupted: (\d+) of (\d+) files stored")
    assert 150 <= stored_before <= found_before <= len(photos)
    answered = uploads_answered(page)

    drop_folder(page, folder)

    expect(notice).to_be_hidden()
    expect(summary(page)).to_have_text(
        re.compile(r"Done: \d+ stored, \d+ already there(, \d+ duplicates?)?\."), timeout=FOLDER_WAIT_MS
    )
    [already_there] = numbers_in(summary(page), r"(\d+) already there")
    received = [result for response in answered for result in response.json()["results"]]
    assert already_there >= stored_before
    # Only the files the server did not hold were sent again, each once.
    assert len(received) == len(photos) - already_there
    assert len({result["sha256"] for result in received}) == len(received)
    sent_bytes = sum(int(response.request.header_value("content-length") or 0) for response in answered)
    missing_bytes = sum(path.stat().st_size for path in photos) * len(received) // len(photos)
    assert sent_bytes < missing_bytes * 3
    assert Image.objects.filter(owner=user).count() == len(photos)


def test_files_deleted_before_are_reported_not_re_added_and_restored_in_one_click(open_scroller, user, tmp_path):
    folder = tmp_path / "phone"
    photos = write_photo_folder(folder, count=6)
    trashed = store_files(owner=user, paths=photos[:3])
    [purged] = store_files(owner=user, paths=photos[3:4])
    in_thread(lambda: [services.soft_delete_image(actor=user, image_id=image.pk) for image in trashed])
    in_thread(lambda: services.purge_images(image_ids=[purged.pk]))
    page = open_scroller(user=user)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")

    drop_folder(page, folder)

    expect(summary(page)).to_have_text("Done: 2 stored, 4 deleted before (not added again).", timeout=FOLDER_WAIT_MS)
    assert Image.objects.filter(owner=user, deleted_at__isnull=True).count() == 2
    page.get_by_text("Each file").click()
    expect(page.locator('[data-testid="upload-result"][data-status="deleted_before"]')).to_have_count(4)

    page.get_by_role("button", name="Restore these 4").click()

    expect(summary(page)).to_have_text("Done: 3 stored, 3 restored.", timeout=FOLDER_WAIT_MS)
    assert Image.objects.filter(owner=user, deleted_at__isnull=True).count() == 6
    assert set(Image.objects.filter(pk__in=[image.pk for image in trashed]).values_list("deleted_at", flat=True)) == {
        None
    }
    expect(page.get_by_role("button", name=re.compile("Restore these"))).to_be_hidden()
