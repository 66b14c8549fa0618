"""Two server processes sharing MariaDB (or the SQLite file) and Redis, a real browser on each."""

import os
import re
import signal
from collections.abc import Callable, Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, WebSocket, expect

from gallery.models import Image
from tests.conftest import DaphneServer, token_client
from tests.e2e.conftest import VIEWPORT, session_cookie
from tests.e2e.images import image_bytes
from tests.e2e.pages import UPLOAD_WAIT_MS, WAIT_MS
from tests.processes import (
    START_TIMEOUT_SECONDS,
    channel_prefix,
    healthy,
    redis_channel_layers,
    serve_processes,
    wait_for_children,
    wait_until,
)


@pytest.fixture
def two_servers(transactional_db, media_root, settings) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.CHANNEL_LAYERS = redis_channel_layers(prefix=channel_prefix())
    servers = (DaphneServer(), DaphneServer())
    for server in servers:
        server.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def page_on(browser: Browser) -> Iterator[Callable[..., Page]]:
    """page_on(server or URL, user=None): the scroller at hue 0, served from there, logged in as `user` when given."""
    contexts = []
    errors: list[str] = []

    def open_page(server: DaphneServer | str, *, user=None) -> Page:
        url = server if isinstance(server, str) else server.url
        context = browser.new_context(viewport=VIEWPORT, base_url=url)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        if user is not None:
            context.add_cookies(
                [{"name": "sessionid", "value": session_cookie(user), "domain": "127.0.0.1", "path": "/"}]
            )
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error.name}: {error.message}"))
        page.goto("/?hue=0")
        expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], errors


def record_text_frames(page: Page) -> list[str]:
    """Every text frame the page's websockets receive, from now on."""
    frames: list[str] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(payload) if isinstance(payload, str) else None)

    page.on("websocket", watch)
    return frames


def upload_through(server: DaphneServer, user, *, name: str, visibility: str = "public") -> int:
    authorization = token_client(user).defaults["HTTP_AUTHORIZATION"]
    response = requests.post(
        f"{server.url}/api/images/",
        files=[("file", (name, image_bytes(hue=0)))],
        data={"visibility": visibility},
        headers={"Authorization": authorization},
        timeout=UPLOAD_WAIT_MS / 1000,
    )
    [result] = response.json()["results"]
    assert result["status"] == "created", result
    return result["id"]


def tile(page: Page, image_id: int):
    return page.locator(f'[data-testid="tile"][data-image-id="{image_id}"]')


def test_uploads_and_deletes_reach_the_browsers_of_the_other_process_and_private_images_only_their_owner(
    two_servers, page_on, user, other_user
):
    first, second = two_servers
    watcher_on_first = page_on(first, user=other_user)
    stranger_on_second = page_on(second, user=other_user)
    owner_on_second = page_on(second, user=user)
    stranger_frames = record_text_frames(stranger_on_second)
    stranger_on_second.reload()
    expect(stranger_on_second.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")

    public_id = upload_through(first, user, name="public.png")
    for page in (watcher_on_first, stranger_on_second, owner_on_second):
        expect(tile(page, public_id).first).to_be_attached(timeout=UPLOAD_WAIT_MS)

    deleted = requests.delete(
        f"{second.url}/api/images/{public_id}/",
        headers={"Authorization": token_client(user).defaults["HTTP_AUTHORIZATION"]},
        timeout=30,
    )
    assert deleted.status_code == 200
    expect(tile(watcher_on_first, public_id)).to_have_count(0)

    private_id = upload_through(first, user, name="private.png", visibility="private")
    expect(tile(owner_on_second, private_id).first).to_be_attached()
    # Events of one process reach a group in the order sent: once the next public image has
    # arrived, the private one would have arrived before it had it been sent to this browser.
    later_id = upload_through(first, user, name="later.png")
    expect(tile(stranger_on_second, later_id).first).to_be_attached()

    expect(tile(stranger_on_second, private_id)).to_have_count(0)
    assert not [frame for frame in stranger_frames if f'"id": {private_id},' in frame or f'"id":{private_id},' in frame]
    assert [frame for frame in stranger_frames if f'"id": {later_id},' in frame or f'"id":{later_id},' in frame]


def test_killing_one_of_two_processes_mid_upload_stores_every_file_once_and_the_page_reconnects(
    transactional_db, page_on, user, tmp_path
):
    media_root = tmp_path / "media"
    files = []
    for index in range(48):
        path = tmp_path / f"photo-{index:03d}.png"
        path.write_bytes(image_bytes(hue=index * 3))
        files.append(path)
    with serve_processes(count=2, media_root=media_root, log=tmp_path / "serve.log") as (supervisor, url):
        wait_until(lambda: healthy(url), timeout=START_TIMEOUT_SECONDS)
        children = wait_for_children(supervisor, count=2)
        page = page_on(url, user=user)
        page.get_by_role("button", name="Upload").click()
        page.get_by_test_id("file-input").set_input_files(files)
        wait_until(lambda: Image.objects.filter(owner=user).count() >= 8 or None, timeout=UPLOAD_WAIT_MS / 1000)

        os.kill(min(children), signal.SIGKILL)

        summary = page.get_by_test_id("upload-summary")
        expect(summary).to_have_text(re.compile(r"^Done: \d+ stored(, \d+ duplicates?)?\.$"), timeout=120_000)
        expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
        counts = re.match(r"^Done: (\d+) stored(?:, (\d+) duplicates?)?\.$", summary.inner_text())
        assert counts is not None
        rows = list(Image.objects.filter(owner=user).values_list("original_name", "original"))

    assert int(counts[1]) + int(counts[2] or 0) == len(files)
    assert sorted(name for name, _ in rows) == sorted(path.name for path in files)
    assert all((media_root / original).is_file() for _, original in rows)
