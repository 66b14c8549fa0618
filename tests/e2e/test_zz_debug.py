from playwright.sync_api import expect
from tests.e2e.images import image_bytes


def test_debug(open_scroller, user, tmp_path):
    page = open_scroller(user=user, hue=0)
    log = []
    page.on("console", lambda m: log.append(("console", m.type, m.text)))
    page.on("websocket", lambda ws: (ws.on("framereceived", lambda f: log.append(("recv", f if isinstance(f, str) else len(f)))), ws.on("framesent", lambda f: log.append(("sent", f)))))
    page.reload()
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "open")
    red = tmp_path / "red.png"
    red.write_bytes(image_bytes(hue=0))
    page.get_by_role("button", name="Upload").click()
    page.get_by_test_id("file-input").set_input_files([red])
    expect(page.get_by_test_id("upload-summary")).to_have_text("Done: 1 stored.", timeout=60000)
    try:
        expect(page.get_by_test_id("tile")).to_have_count(1, timeout=5000)
    finally:
        for line in log: print(line)
