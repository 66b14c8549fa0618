import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from gallery.models import Image
from gallery.realtime import stream as realtime
from gallery.serializers import card_to_dict, image_card, image_to_dict

pytestmark = pytest.mark.django_db

ANONYMOUS = AnonymousUser()


def test_recent_ids_forget_the_oldest_beyond_the_limit():
    recent = realtime.RecentIds(limit=3)
    for image_id in (1, 2, 3, 1, 4):
        recent.add(image_id)

    assert [image_id in recent for image_id in (1, 2, 3, 4)] == [True, False, True, True]


def test_loaded_images_serialize_exactly_like_orm_loaded_ones(make_image, user):
    private = make_image(colors=[(10, 0.5), (None, 0.3), (200, 0.2)], visibility="private")
    public = make_image(colors=[(20, 0.6)])
    deleted = make_image(colors=[(30, 0.6)], deleted=True)

    loaded = realtime.load_images(image_ids=[public.pk, deleted.pk, private.pk, private.pk + 1000], viewer=user)

    reference = Image.objects.select_related("owner").prefetch_related("colors")
    assert [streamed.card.id for streamed in loaded] == [public.pk, private.pk]
    for streamed in loaded:
        expected = reference.get(pk=streamed.card.id)
        assert streamed.card == image_card(expected)
        assert card_to_dict(streamed.card, viewer=user) == image_to_dict(expected, viewer=user)
        assert json.loads(streamed.meta) == image_to_dict(expected, viewer=user)
        assert streamed.thumbnail == bytes(expected.thumbnail)
    assert realtime.load_images(image_ids=[private.pk], viewer=ANONYMOUS) == []


def test_loading_cached_images_reads_only_what_can_change(make_image, django_assert_num_queries):
    images = [make_image(colors=[(40, 0.6)]) for _ in range(3)]
    ids = [image.pk for image in images]
    first = realtime.load_images(image_ids=ids, viewer=ANONYMOUS)

    with django_assert_num_queries(1):
        again = realtime.load_images(image_ids=ids, viewer=ANONYMOUS)

    assert again == first


def test_loading_images_the_cache_lacks_costs_one_query_too(make_image, django_assert_num_queries):
    images = [make_image(colors=[(40, 0.6), (None, 0.3), (200, 0.1)]) for _ in range(3)]

    with django_assert_num_queries(1):
        loaded = realtime.load_images(image_ids=[image.pk for image in images], viewer=ANONYMOUS)

    assert [streamed.card.facts.colors for streamed in loaded] == [
        ((40, 0.8, 0.8, 0.6), (None, 0.0, 0.8, 0.3), (200, 0.8, 0.8, 0.1))
    ] * 3


def test_a_cached_image_deleted_or_made_private_is_no_longer_loaded(make_image, user):
    deleted, hidden, kept = (make_image(colors=[(40, 0.6)]) for _ in range(3))
    ids = [deleted.pk, hidden.pk, kept.pk]
    realtime.load_images(image_ids=ids, viewer=ANONYMOUS)
    Image.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    Image.objects.filter(pk=hidden.pk).update(visibility="private")

    assert [streamed.card.id for streamed in realtime.load_images(image_ids=ids, viewer=ANONYMOUS)] == [kept.pk]
    assert [
        (streamed.card.id, streamed.card.visibility) for streamed in realtime.load_images(image_ids=ids, viewer=user)
    ] == [
        (hidden.pk, "private"),
        (kept.pk, "public"),
    ]


def test_a_cached_image_shows_its_owner_under_a_new_username(make_image, user):
    image = make_image(colors=[(40, 0.6)])
    realtime.load_images(image_ids=[image.pk], viewer=ANONYMOUS)
    user.username = "renamed"
    user.save()

    [streamed] = realtime.load_images(image_ids=[image.pk], viewer=ANONYMOUS)

    assert streamed.card.owner_name == "renamed"


def test_a_batch_mixing_cached_and_new_images_keeps_the_order_asked_for(make_image):
    images = [make_image(colors=[(40, 0.6)]) for _ in range(4)]
    realtime.load_images(image_ids=[images[1].pk, images[3].pk], viewer=ANONYMOUS)
    ids = [image.pk for image in reversed(images)]

    loaded = realtime.load_images(image_ids=ids, viewer=ANONYMOUS)

    assert [streamed.card.id for streamed in loaded] == ids
    for streamed in loaded:
        assert streamed.card == image_card(Image.objects.select_related("owner").get(pk=streamed.card.id))


def test_a_cached_card_is_made_again_when_what_it_shows_changes(make_image, user):
    image = make_image(colors=[(40, 0.6)])
    realtime.load_images(image_ids=[image.pk], viewer=ANONYMOUS)
    Image.objects.filter(pk=image.pk).update(
        labels=[{"label": "cat", "score": 0.9}],
        description="a cat on a mat",
        palette=[[200, 0.5, 0.5, 0.7]],
    )

    [streamed] = realtime.load_images(image_ids=[image.pk], viewer=ANONYMOUS)

    expected = image_to_dict(Image.objects.select_related("owner").get(pk=image.pk), viewer=ANONYMOUS)
    assert expected["labels"] == [{"label": "cat", "score": 0.9}] and expected["colors"][0]["hue"] == 200
    assert json.loads(streamed.meta) == card_to_dict(streamed.card, viewer=ANONYMOUS) == expected


def test_the_same_cached_card_says_whether_each_viewer_may_delete_it(make_image, user, django_user_model):
    image = make_image(colors=[(40, 0.6)])
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    stranger = django_user_model.objects.create_user(username="stranger", password="x")

    can_delete = {
        viewer: json.loads(realtime.load_images(image_ids=[image.pk], viewer=viewer)[0].meta)["can_delete"]
        for viewer in (user, staff, stranger, ANONYMOUS)
    }

    assert can_delete == {user: True, staff: True, stranger: False, ANONYMOUS: False}
