from pathlib import Path

SITE_ICON = Path(__file__).resolve().parents[2] / "static" / "favicon.svg"


def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.redirect_chain == [("/static/favicon.svg", 301)]
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert int(response["Content-Length"]) == SITE_ICON.stat().st_size
