"""Browser fixtures: Debian's Chromium driven by Playwright against the real ASGI app served by Daphne."""

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

from tests.e2e.pages import WAIT_MS

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ALLOW_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Package-scoped, so the rest of the test session runs without it.

    Playwright's sync API keeps its event loop registered as this thread's running loop while it
    is started, and Django then refuses every ORM call from this thread as if it came from async
    code. These tests are plain synchronous code, so the guard is lifted for as long as Playwright runs.
    """
    before = os.environ.get(ALLOW_ASYNC_UNSAFE)
    os.environ[ALLOW_ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if before is None:
            del os.environ[ALLOW_ASYNC_UNSAFE]
        else:
            os.environ[ALLOW_ASYNC_UNSAFE] = before


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def one_ingest_worker(settings) -> None:
    """Set before the server forks: each server spawns its own ingest pool, and one process is plenty here."""
    settings.SCROLLER_INGEST_WORKERS = 1


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def new_page(browser: Browser, daphne_server) -> Iterator[Callable[..., Page]]:
    """new_page(user=None): a page in a fresh browser context, logged in as `user` when given.

    Every page must end the test without an uncaught script error.
    """
    contexts = []
    errors: list[str] = []

    def open_context(*, user=None) -> Page:
        context = browser.new_context(viewport=VIEWPORT, base_url=daphne_server.url)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        if user is not None:
            context.add_cookies(
                [{"name": "sessionid", "value": session_cookie(user), "domain": "127.0.0.1", "path": "/"}]
            )
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error.name}: {error.message}"))
        return page

    yield open_context
    for context in contexts:
        context.close()
    assert errors == [], errors


@pytest.fixture
def open_scroller(new_page) -> Callable[..., Page]:
    """open_scroller(user=None, hue=None): the scroller page in a fresh context, at `hue` if given."""

    def open_page(*, user=None, hue: int | None = None) -> Page:
        page = new_page(user=user)
        page.goto("/" if hue is None else f"/?hue={hue}")
        return page

    return open_page
