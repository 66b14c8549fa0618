import pytest
from django.contrib.auth.models import AnonymousUser

from gallery.models import Image
from gallery.realtime import hue_stream
from gallery.realtime import stream as realtime
from gallery.search.selectors import SearchFilters, search_page
from gallery.search.services import reindex_images

pytestmark = pytest.mark.django_db


def streamed_ids(*, viewer) -> set[int]:
    stream = hue_stream.start_stream(hue=30)
    ids: set[int] = set()
    while images := stream.next_batch(viewer=viewer, size=realtime.NEXT_BATCH_SIZE):
        if stream.cycle:
            break
        ids |= {streamed.card.id for streamed in images}
    return ids


def searched_ids(*, viewer) -> set[int]:
    page = search_page(text="orange", filters=SearchFilters.of(viewer=viewer), after=None, limit=100)
    return {hit.image_id for hit in page.hits}


def test_the_orm_filter_the_stream_and_search_sql_and_the_live_event_filter_agree_on_who_sees_what(
    make_image, user, other_user, staff_user
):
    images = [
        make_image(colors=[(30, 0.6)], owner=owner, visibility=visibility)
        for owner in (user, other_user, staff_user)
        for visibility in ("public", "private")
    ]
    ids = [image.pk for image in images]
    reindex_images(image_ids=ids)
    announced = [
        {"id": image.pk, "owner_id": image.owner_id, "visibility": image.visibility, "colors": [[30, 0.6]]}
        for image in images
    ]

    for viewer in (AnonymousUser(), user, other_user, staff_user):
        orm = set(Image.objects.visible_to(viewer).values_list("pk", flat=True))
        loaded = {streamed.card.id for streamed in realtime.load_images(image_ids=ids, viewer=viewer)}
        walked = streamed_ids(viewer=viewer)
        live = {item["id"] for item in realtime.visible_announced(viewer=viewer, announced=announced)}

        assert orm == loaded == walked == searched_ids(viewer=viewer) == live, viewer
    assert len(set(Image.objects.visible_to(AnonymousUser()).values_list("pk", flat=True))) == 3
    assert len(set(Image.objects.visible_to(user).values_list("pk", flat=True))) == 4
    assert len(set(Image.objects.visible_to(staff_user).values_list("pk", flat=True))) == 6
