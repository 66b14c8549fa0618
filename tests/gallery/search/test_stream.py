import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from gallery.models import Image
from gallery.realtime import stream as realtime
from gallery.search.stream import start_search_stream
from tests.gallery.labelled import RED, TABBY

pytestmark = pytest.mark.django_db

ANONYMOUS = AnonymousUser()


def batch_ids(stream, *, size: int = realtime.NEXT_BATCH_SIZE, may_walk: bool = True) -> list[int]:
    return [streamed.card.id for streamed in stream.next_batch(viewer=ANONYMOUS, size=size, may_walk=may_walk)]


def test_a_cycle_hands_out_every_match_once_best_first_and_the_next_cycle_starts_again(make_found):
    images = [make_found(labelled=[(TABBY, (index + 1) / 40)]) for index in range(25)]
    make_found(description="dog")
    stream = start_search_stream(text="cats", viewer=ANONYMOUS)

    first_cycle = batch_ids(stream, size=10) + batch_ids(stream, size=10) + batch_ids(stream, size=10)
    second = batch_ids(stream, size=10)

    assert first_cycle == [image.pk for image in reversed(images)]
    assert (stream.cycle, second) == (1, first_cycle[:10])


def test_reading_ahead_and_live_pushes_keep_a_cycle_free_of_repeats(make_found):
    images = [make_found(labelled=[(TABBY, (index + 1) / 100)]) for index in range(60)]
    stream = start_search_stream(text="cat", viewer=ANONYMOUS)
    shown = batch_ids(stream, size=realtime.FIRST_BATCH_SIZE)
    pushed = [streamed.card.id for streamed in realtime.take_added(stream, viewer=ANONYMOUS, image_ids=[images[0].pk])]

    while stream.needs_read_ahead() or stream.lookahead:
        if stream.needs_read_ahead():
            stream.apply_read_ahead(stream.read_ahead(viewer=ANONYMOUS))
        shown += batch_ids(stream, may_walk=False)

    assert pushed == [images[0].pk]
    assert sorted(shown + pushed) == sorted(image.pk for image in images)


def test_a_search_with_a_hue_streams_only_matches_near_it_and_nothing_found_is_an_empty_batch(make_found):
    red = make_found(description="kite", colors=[RED])
    make_found(description="kite")

    assert batch_ids(start_search_stream(text="kite", viewer=ANONYMOUS, hue=5)) == [red.pk]
    assert batch_ids(start_search_stream(text="xyzzy", viewer=ANONYMOUS)) == []


def test_images_deleted_after_they_were_read_are_not_streamed(make_found):
    images = [make_found(description="kite") for _ in range(5)]
    stream = start_search_stream(text="kite", viewer=ANONYMOUS)
    stream.apply_read_ahead(stream.read_ahead(viewer=ANONYMOUS))
    Image.objects.filter(pk=images[0].pk).update(deleted_at=timezone.now())

    assert sorted(batch_ids(stream)) == sorted(image.pk for image in images[1:])


def test_live_uploads_match_a_search_by_its_terms_and_hue(make_found):
    red, blue = make_found(description="kite", colors=[RED]), make_found(description="kite")
    other = make_found(description="boat", colors=[RED])
    announced = [{"id": image.pk} for image in (red, blue, other)]

    assert start_search_stream(text="kites", viewer=ANONYMOUS).matching_live(announced=announced) == [red.pk, blue.pk]
    assert start_search_stream(text="kite", viewer=ANONYMOUS, hue=0).matching_live(announced=announced) == [red.pk]
