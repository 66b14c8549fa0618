import pytest
from django.core.management import call_command

from gallery import services
from gallery.models import Image, SearchPosting
from gallery.search.services import reindex_images
from tests.gallery.labelled import (
    BLUE,
    ESPRESSO,
    GOLDEN_RETRIEVER,
    MOTOR_SCOOTER,
    RED,
    SPORTS_CAR,
    TABBY,
    TIGER_CAT,
    labels,
)
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db


def found(client, query: str) -> list[int]:
    response = client.get("/api/images/", {"q": query})
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_a_label_its_synonyms_and_broader_terms_find_the_image(client, make_found):
    tabby = make_found(labelled=[(TABBY, 0.9)])
    dog = make_found(labelled=[(GOLDEN_RETRIEVER, 0.9)])
    scooter = make_found(labelled=[(MOTOR_SCOOTER, 0.8)])
    espresso = make_found(labelled=[(ESPRESSO, 0.7)])

    assert found(client, "tabby") == [tabby.pk]
    assert found(client, "house cat") == [tabby.pk]
    assert found(client, "cat") == [tabby.pk]
    assert set(found(client, "animal")) == {tabby.pk, dog.pk}
    assert found(client, "vehicle") == [scooter.pk]
    assert found(client, "drink") == [espresso.pk]
    assert found(client, "Cats") == [tabby.pk]


def test_the_image_that_is_a_cat_outranks_the_one_that_is_vaguely_an_animal(client, make_found):
    vaguely = make_found(labelled=[(SPORTS_CAR, 0.7), (GOLDEN_RETRIEVER, 0.2)])
    surely = make_found(labelled=[(TABBY, 0.7), (TIGER_CAT, 0.25)])
    likely = make_found(labelled=[(TABBY, 0.4), (SPORTS_CAR, 0.3)])

    response = client.get("/api/images/", {"q": "animal"}).json()

    assert [item["id"] for item in response["results"]] == [surely.pk, likely.pk, vaguely.pk]
    scores = [item["score"] for item in response["results"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] < scores[0] <= 1
    assert found(client, "cat") == [surely.pk, likely.pk]


def test_color_words_match_the_palette_and_combine_with_things(client, make_found):
    red_car = make_found(labelled=[(SPORTS_CAR, 0.8)], colors=[RED, (220, 0.3)])
    blue_car = make_found(labelled=[(SPORTS_CAR, 0.9)], colors=[BLUE])
    red_cat = make_found(labelled=[(TABBY, 0.9)], colors=[RED])
    grey = make_found(colors=[(None, 0.7)])

    assert found(client, "red car") == [red_car.pk]
    assert set(found(client, "red")) == {red_car.pk, red_cat.pk}
    assert set(found(client, "blue cars")) == {blue_car.pk, red_car.pk}
    assert found(client, "grey") == [grey.pk]


def test_words_of_the_description_and_the_file_name_are_found(client, make_found):
    described = make_found(description="Sunset over the harbour, Lisbon")
    named = make_found(name="lisbon_tram_2019.jpg")

    assert found(client, "harbours") == [described.pk]
    assert set(found(client, "lisbon")) == {described.pk, named.pk}
    assert found(client, "tram 2019") == [named.pk]


def test_words_that_differ_only_by_accent_or_case_are_different_words(client, make_found):
    accented = make_found(description="Café de Flore")
    plain = make_found(description="cafe racer")

    assert found(client, "café") == [accented.pk]
    assert found(client, "CAFE") == [plain.pk]


def test_a_word_nothing_knows_matches_nothing_without_an_error(client, make_found):
    make_found(labelled=[(TABBY, 0.9)], description="a cat")

    assert found(client, "xyzzy") == []
    assert found(client, "cat xyzzy") == []
    assert found(client, "the") == []
    assert client.get("/api/images/", {"q": "  "}).status_code == 400


def test_nobody_finds_someone_elses_private_or_deleted_image_by_any_word(
    client, alice_client, bob_client, staff_client, make_found, user, other_user
):
    private = make_found(labelled=[(TABBY, 0.9)], description="zanzibar", owner=user, visibility="private")
    deleted = make_found(description="zanzibar", owner=other_user, deleted=True)

    for query in ("zanzibar", "tabby", "cat", "blue"):
        assert found(client, query) == []
        assert found(bob_client, query) == []
        assert found(alice_client, query) == [private.pk]
        assert found(staff_client, query) == [private.pk]
    assert deleted.pk not in found(bob_client, "zanzibar")


def test_an_image_made_private_or_deleted_after_indexing_is_no_longer_found(bob_client, make_found, user):
    hidden, removed = (make_found(description="zanzibar", owner=user) for _ in range(2))

    services.set_visibility(actor=user, image_id=hidden.pk, visibility="private")
    services.soft_delete_image(actor=user, image_id=removed.pk)

    assert found(bob_client, "zanzibar") == []


def test_search_combines_with_hue_and_owner_me(alice_client, make_found, user, other_user):
    mine_red = make_found(description="kite", colors=[RED], owner=user)
    make_found(description="kite", colors=[BLUE], owner=user)
    make_found(description="kite", colors=[RED], owner=other_user)

    body = alice_client.get("/api/images/", {"q": "kite", "hue": 2, "owner": "me"}).json()

    assert [item["id"] for item in body["results"]] == [mine_red.pk]


def test_pages_follow_the_ranking_without_repeats_and_end(client, make_found):
    images = [make_found(labelled=[(TABBY, probability / 10)]) for probability in range(1, 8)]
    ranked = [image.pk for image in reversed(images)]

    ids, url = [], "/api/images/?q=cat&limit=3"
    while url:
        body = client.get(url).json()
        ids += [item["id"] for item in body["results"]]
        url = body["next"]

    assert ids == ranked
    assert client.get("/api/images/", {"q": "cat", "after": "nonsense"}).status_code == 400


def test_the_index_follows_labels_that_land_later_and_the_rebuild_command(client, make_found):
    image = make_found()
    assert found(client, "espresso") == []

    Image.objects.filter(pk=image.pk).update(labels=labels((ESPRESSO, 0.9)))
    reindex_images(image_ids=[image.pk])
    assert found(client, "coffee") == [image.pk]

    SearchPosting.objects.all().delete()
    call_command("rebuild_search_index", verbosity=0)
    assert found(client, "coffee") == [image.pk]


def test_an_upload_is_found_by_its_file_name_and_color(alice_client, user):
    image = store_image(owner=user, color=(255, 0, 0), filename="Harbour_Boats.png")

    assert found(alice_client, "boat") == [image.pk]
    assert found(alice_client, "red boats") == [image.pk]
