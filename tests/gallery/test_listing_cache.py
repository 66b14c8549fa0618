import pytest

from gallery import services
from gallery.listing_cache import ListedImage, ListingCache
from gallery.serializers import ImageCard, ImageFacts
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


def test_the_cache_keeps_its_number_of_entries_dropping_the_least_recently_used():
    def entry(image_id: int) -> ListedImage:
        facts = ImageFacts(
            original_name="a.jpg",
            width=1,
            height=1,
            thumbnail_width=1,
            thumbnail_height=1,
            is_monochrome=False,
            colors=(),
        )
        card = ImageCard(id=image_id, owner_id=1, owner_name="alice", visibility="public", facts=facts)
        return ListedImage(card=card, detail={}, version=(1, "alice", "public", "2026-12-03"))

    cache = ListingCache(max_entries=2)
    cache.put_many({1: entry(1), 2: entry(2)})
    cache.get_many([1])
    cache.put_many({3: entry(3)})

    assert sorted(cache.get_many([1, 2, 3])) == [1, 3]
