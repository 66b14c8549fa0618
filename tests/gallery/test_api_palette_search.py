"""GET /api/images/?colors=...: images ranked by how well their palettes cover the asked colours."""

import pytest
from django.utils import timezone

from gallery.models import Image
from tests.gallery.labelled import SPORTS_CAR, TABBY

pytestmark = pytest.mark.django_db

TEAL, ORANGE, BLUE = 180, 30, 225


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_images_come_best_covering_first_with_their_scores(client, make_image):
    exact = make_image(colors=((TEAL, 0.6), (ORANGE, 0.2), (None, 0.2)))
    near = make_image(colors=((TEAL + 3, 0.55), (ORANGE - 2, 0.22)))
    teal_only = make_image(colors=((TEAL, 0.6), (None, 0.4)))
    make_image(colors=((BLUE + 40, 0.9),))  # nothing near either colour

    body = client.get("/api/images/?colors=180:60,30:20").json()

    assert [item["id"] for item in body["results"]] == [exact.pk, near.pk, teal_only.pk]
    assert body["results"][0]["palette_score"] == pytest.approx(1.0)
    assert body["results"][2]["palette_score"] == pytest.approx(0.75)
    assert body["results"][0]["colors"][0]["hue"] == TEAL


def test_the_hue_circle_wraps_for_asked_colors(client, make_image):
    red = make_image(colors=((355, 0.5),))
    orange_red = make_image(colors=((8, 0.5),))

    assert set(ids(client.get("/api/images/?colors=2:50"))) == {red.pk, orange_red.pk}


def test_others_private_and_deleted_images_are_never_found(client, alice_client, make_image, other_user):
    public = make_image(colors=((TEAL, 0.6),))
    alices_private = make_image(colors=((TEAL, 0.6),), visibility="private")
    make_image(colors=((TEAL, 0.6),), owner=other_user, visibility="private")
    make_image(colors=((TEAL, 0.6),), deleted=True)

    assert ids(client.get("/api/images/?colors=180:60")) == [public.pk]
    assert set(ids(alice_client.get("/api/images/?colors=180:60"))) == {public.pk, alices_private.pk}


def test_deleted_images_are_found_only_by_their_owner_asking_for_them(alice_client, bob_client, make_image, other_user):
    deleted = make_image(colors=((TEAL, 0.6),), deleted=True)

    assert ids(alice_client.get("/api/images/?colors=180:60&owner=me&include_deleted=1")) == [deleted.pk]
    assert ids(alice_client.get("/api/images/?colors=180:60&owner=me")) == []
    assert ids(bob_client.get("/api/images/?colors=180:60&include_deleted=1")) == []


def test_owner_and_hue_filters_combine_with_colors(alice_client, make_image, other_user):
    teal_and_orange = make_image(colors=((TEAL, 0.6), (ORANGE, 0.2)))
    teal_and_blue = make_image(colors=((TEAL, 0.6), (BLUE, 0.3)))
    make_image(colors=((TEAL, 0.6), (BLUE, 0.3)), owner=other_user)

    assert ids(alice_client.get(f"/api/images/?colors=180:60&hue={BLUE}&owner=me")) == [teal_and_blue.pk]
    assert set(ids(alice_client.get("/api/images/?colors=180:60&owner=me"))) == {teal_and_orange.pk, teal_and_blue.pk}


def test_pages_follow_the_ranking_through_next(client, make_image):
    stored = [make_image(colors=((TEAL, share),)) for share in (0.6, 0.5, 0.4, 0.3, 0.6)]
    seen: list[int] = []
    url: str | None = "/api/images/?colors=180:60&limit=2"
    while url:
        body = client.get(url).json()
        seen += [item["id"] for item in body["results"]]
        url = body["next"]

    assert seen == [stored[4].pk, stored[0].pk, stored[1].pk, stored[2].pk, stored[3].pk]


def test_uploads_deletions_and_privacy_count_at_once_though_the_index_is_kept(client, make_image):
    kept = make_image(colors=((TEAL, 0.6),))
    assert ids(client.get("/api/images/?colors=180:60")) == [kept.pk]  # the process now holds the palette index

    uploaded = make_image(colors=((TEAL, 0.55),))
    made_private = make_image(colors=((TEAL, 0.5),))
    made_private.visibility = "private"
    made_private.save(update_fields=["visibility"])
    kept.deleted_at = timezone.now()
    kept.save(update_fields=["deleted_at"])

    assert ids(client.get("/api/images/?colors=180:60")) == [uploaded.pk]


def test_a_database_emptied_and_filled_again_is_read_again(client, make_image):
    make_image(colors=((TEAL, 0.6),))
    assert len(ids(client.get("/api/images/?colors=180:60"))) == 1

    Image.objects.all().delete()  # SQLite then gives the next image the same id again
    orange = make_image(colors=((ORANGE, 0.6),))

    assert ids(client.get("/api/images/?colors=180:60")) == []
    assert ids(client.get("/api/images/?colors=30:60")) == [orange.pk]


def test_words_narrow_a_palette_search_which_keeps_its_order(client, make_found):
    teal_car = make_found(labelled=[(SPORTS_CAR, 0.8)], colors=((TEAL, 0.6),))
    tealish_car = make_found(labelled=[(SPORTS_CAR, 0.9)], colors=((TEAL, 0.4),))
    make_found(labelled=[(TABBY, 0.9)], colors=((TEAL, 0.6),))
    make_found(labelled=[(SPORTS_CAR, 0.9)], colors=((BLUE + 40, 0.9),))

    assert ids(client.get("/api/images/?colors=180:60&q=car")) == [teal_car.pk, tealish_car.pk]
    assert ids(client.get("/api/images/?colors=180:60&q=nothingknowsthisword")) == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("colors=", "hue:weight pairs"),
        ("colors=400:20", "hue must be between 0 and 359"),
        ("colors=1:10,2:10,3:10,4:10", "at most 3 colours"),
        ("colors=180:60&before=5", "with colors, follow next"),
        ("colors=180:60&after=best", "after must be score:id"),
        ("colors=180:60&q=%20", "q must contain a word"),
    ],
)
def test_bad_colors_queries_are_refused_with_the_reason(client, query, reason):
    response = client.get(f"/api/images/?{query}")

    assert response.status_code == 400
    assert reason in response.json()["error"]
