"""What a test reads off the scroller page, and what it checks against the database."""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, Route, expect

from gallery.models import DominantColor

# Generous for a 2-core machine shared with other test runs; expectations return as soon as they hold.
WAIT_MS = 30_000
# A server's first upload also starts its ingest pool, whose workers import numpy and scikit-learn.
UPLOAD_WAIT_MS = 60_000


def wait_for_upload_code(page: Page) -> None:
    """The upload code loads after the page: what a test hands it (files, a drop) waits until it is there."""
    page.wait_for_function("() => Boolean(window.scroller?.uploads)")


def open_scroller_holding_upload_code(new_page: Callable[..., Page], *, user, path: str) -> tuple[Page, Route]:
    """The scroller at `path`, live, with its upload code held back until the test lets the returned request go on."""
    page = new_page(user=user)
    held: list[Route] = []
    page.route("**/static/scroller/upload.js", lambda route: held.append(route))
    page.goto(path)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    assert len(held) == 1
    return page, held[0]


def tile_ids(page: Page) -> list[int]:
    return [
        int(value) for value in page.get_by_test_id("tile").evaluate_all("tiles => tiles.map((t) => t.dataset.imageId)")
    ]


def wait_for_tile_ids(page: Page, ids: list[int]) -> None:
    """Until the stream shows exactly these images (each possibly more than once, as a small pool repeats)."""
    page.wait_for_function(
        """(wanted) => {
            const shown = new Set([...document.querySelectorAll('[data-testid="tile"]')].map((t) => Number(t.dataset.imageId)));
            return shown.size === wanted.length && wanted.every((id) => shown.has(id));
        }""",
        arg=sorted(ids),
    )


def matches_hue(image_id: int, *, hue: int) -> bool:
    """From the stored dominant colours: does the image have a large enough colour within the configured margin of `hue`?"""
    margin, min_share = settings.SCROLLER_HUE_MARGIN, settings.SCROLLER_MIN_MATCH_SHARE
    for color_hue, share in DominantColor.objects.filter(image_id=image_id, hue__isnull=False).values_list(
        "hue", "share"
    ):
        assert color_hue is not None
        distance = abs(color_hue - hue) % 360
        if min(distance, 360 - distance) <= margin and share >= min_share:
            return True
    return False


def click_tile(page: Page, image_id: int) -> None:
    """Click with the mouse, as a user would, a standing-still tile of the image that nothing covers (header, dock)."""
    point = page.wait_for_function(
        """(id) => {
            const previous = window.lastTilePositions ?? {};
            const positions = window.lastTilePositions = {};
            for (const [index, tile] of document.querySelectorAll(`[data-testid="tile"][data-image-id="${id}"]`).entries()) {
                const box = tile.getBoundingClientRect();
                const x = box.left + box.width / 2;
                const y = box.top + box.height / 2;
                positions[index] = y;
                if (previous[index] === y && tile.contains(document.elementFromPoint(x, y))) return {x, y};
            }
            return null;
        }""",
        arg=image_id,
    ).json_value()
    page.mouse.click(point["x"], point["y"])


def drop_folder(page: Page, folder: Path) -> None:
    """Drag a real folder from disk onto the page, as from the desktop: Chromium's own drag events, through CDP.

    The page then reads the folder through the browser's file system entries, exactly as it does a user's drop.
    """
    wait_for_upload_code(page)
    session = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}
    viewport = page.viewport_size or {"width": 800, "height": 600}
    point = {"x": viewport["width"] // 2, "y": viewport["height"] // 2}
    for kind in ("dragEnter", "dragOver", "drop"):
        session.send("Input.dispatchDragEvent", {"type": kind, **point, "data": data})
    session.detach()
