import pytest

from gallery import services
from tests.gallery.labelled import TABBY

pytestmark = pytest.mark.django_db


def listed(client, query: str) -> list[dict]:
    response = client.get("/api/images/", {"q": query})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_listed_image_shows_what_changed_since_this_process_last_listed_it(client, make_found, user):
    image = make_found(labelled=[(TABBY, 0.9)], description="lighthouse", owner=user)
    assert [(item["description"], item["owner"]) for item in listed(client, "lighthouse")] == [("lighthouse", "alice")]

    services.set_description(actor=user, image_id=image.pk, description="lighthouse at dusk")
    user.username = "alicia"
    user.save(update_fields=["username"])

    assert [(item["description"], item["owner"]) for item in listed(client, "lighthouse")] == [
        ("lighthouse at dusk", "alicia")
    ]
    services.set_visibility(actor=user, image_id=image.pk, visibility="private")
    assert listed(client, "lighthouse") == []
