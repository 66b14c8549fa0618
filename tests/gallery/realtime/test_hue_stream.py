import random

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from gallery.models import Image
from gallery.realtime import hue_stream
from gallery.realtime import stream as realtime

pytestmark = pytest.mark.django_db

ANONYMOUS = AnonymousUser()


def announced(*, image_id: int, hue: int, owner_id: int = 1, visibility: str = "public") -> dict:
    """An image as gallery.realtime.events announces it to the scrollers, with one colour covering half of it."""
    return {"id": image_id, "owner_id": owner_id, "visibility": visibility, "colors": [[hue, 0.5]]}


def live_matches(stream, *, announced: list[dict], viewer=ANONYMOUS) -> list[int]:
    """What the consumer pushes live to this stream's client, as it decides it."""
    return stream.matching_live(announced=realtime.visible_announced(viewer=viewer, announced=announced))


def walk(stream, *, viewer=ANONYMOUS, batches: int, size: int = realtime.NEXT_BATCH_SIZE) -> list[list[int]]:
    return [
        [streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=viewer, size=size)]
        for _ in range(batches)
    ]


def cycles(stream, *, viewer=ANONYMOUS, count: int = 1) -> list[list[int]]:
    """The ids of the stream's next `count` cycles (the current one from where it stands), in order."""
    first = stream.cycle
    walked: list[list[int]] = [[] for _ in range(count)]
    while images := hue_stream.next_batch(stream, viewer=viewer, size=realtime.NEXT_BATCH_SIZE):
        if stream.cycle >= first + count:
            break
        walked[stream.cycle - first] += [streamed.card.id for streamed in images]
    return walked


def walk_cycle(stream, *, viewer=ANONYMOUS) -> list[int]:
    return cycles(stream, viewer=viewer)[0]


def test_hue_distance_is_measured_round_the_circle():
    assert hue_stream.hue_distance(355, 5) == 10
    assert hue_stream.hue_distance(5, 355) == 10
    assert hue_stream.hue_distance(0, 180) == 180
    assert hue_stream.hue_distance(90, 100) == 10


def test_window_wraps_past_zero_and_covers_the_circle_at_180():
    assert hue_stream.window_hues(hue=358, margin=3) == [355, 356, 357, 358, 359, 0, 1]
    assert hue_stream.window_hues(hue=10, margin=180) == list(range(360))


def test_closer_and_larger_colors_score_higher_and_the_rest_do_not_match(settings):
    settings.SCROLLER_MIN_MATCH_SHARE = 0.1
    exact_large = hue_stream.match_score(hue=100, margin=15, colors=[(100, 0.8)])
    exact_small = hue_stream.match_score(hue=100, margin=15, colors=[(100, 0.2)])
    edge_large = hue_stream.match_score(hue=100, margin=15, colors=[(115, 0.8)])
    assert exact_large is not None and exact_small is not None and edge_large is not None

    assert exact_large > exact_small
    assert exact_large > edge_large
    assert hue_stream.match_score(hue=100, margin=15, colors=[(116, 0.8)]) is None
    assert hue_stream.match_score(hue=100, margin=15, colors=[(100, 0.05)]) is None
    assert hue_stream.match_score(hue=100, margin=15, colors=[(None, 0.9)]) is None
    assert hue_stream.match_score(hue=100, margin=15, colors=[(None, 0.9), (300, 0.5), (95, 0.3)]) is not None


def test_first_batch_and_next_batches_have_the_requested_sizes(make_image):
    for _ in range(45):
        make_image(colors=[(200, 0.5)])
    stream = hue_stream.start_stream(hue=200)

    first = hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    second = hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)

    assert (len(first), len(second)) == (20, 10)
    assert stream.margin == 15
    assert not stream.widened


def test_only_images_with_a_large_enough_color_near_the_hue_are_streamed(make_image):
    near = {make_image(colors=[(200 + offset, 0.5)]).pk for offset in (-15, -3, 0, 9, 15)}
    make_image(colors=[(184, 0.9)])
    make_image(colors=[(216, 0.9)])
    make_image(colors=[(200, 0.05), (30, 0.9)])
    stream = hue_stream.start_stream(hue=200)

    assert set(walk_cycle(stream)) == near


@pytest.mark.parametrize("seed", range(4))
def test_every_match_comes_once_per_cycle_and_the_next_cycle_repeats_them_in_a_new_order(make_image, seed):
    pool = {make_image(colors=[(40, 0.3 + index % 5 / 10)]).pk for index in range(65)}
    stream = hue_stream.start_stream(hue=40, rng=random.Random(seed))

    first_cycle, second_cycle = cycles(stream, count=2)

    assert sorted(first_cycle) == sorted(pool)
    assert sorted(second_cycle) == sorted(pool)
    assert first_cycle != second_cycle


def test_a_batch_ends_with_its_cycle_and_the_next_batch_starts_the_next_cycle(make_image):
    pool = {make_image(colors=[(40, 0.5)]).pk for _ in range(25)}
    stream = hue_stream.start_stream(hue=40)

    first, second, third = walk(stream, batches=3, size=20)

    assert (len(first), len(second), len(third)) == (20, 5, 20)
    assert set(first) | set(second) == pool
    assert stream.cycle == 1


def test_an_image_matching_through_several_colors_comes_once(make_image):
    several = make_image(colors=[(100, 0.4), (105, 0.3), (95, 0.2), (100, 0.1)])
    others = {make_image(colors=[(100, 0.5)]).pk for _ in range(5)}
    stream = hue_stream.start_stream(hue=100)

    assert sorted(walk_cycle(stream)) == sorted(others | {several.pk})


@pytest.mark.parametrize("descending", [False, True])
def test_images_sharing_one_shuffle_key_each_come_once(make_image, descending):
    tied = {make_image(colors=[(60, 0.5), (61, 0.3)], shuffle=7777).pk for _ in range(40)}
    others = {make_image(colors=[(60, 0.5)]).pk for _ in range(10)}
    stream = hue_stream.start_stream(hue=60)
    stream.walk.descending = descending

    assert sorted(walk_cycle(stream)) == sorted(tied | others)


def test_hue_355_matches_hue_5_across_zero(make_image):
    across = make_image(colors=[(5, 0.5)])
    below = make_image(colors=[(350, 0.5)])
    make_image(colors=[(20, 0.5)])
    stream = hue_stream.start_stream(hue=355)

    assert set(walk_cycle(stream)) == {across.pk, below.pk}


def test_the_margin_widens_step_by_step_when_nothing_matches(make_image):
    far = make_image(colors=[(50, 0.5)])
    stream = hue_stream.start_stream(hue=0)

    images = hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)

    assert [streamed.card.id for streamed in images] == [far.pk]
    assert (stream.margin, stream.widened) == (60, True)


def test_a_widened_margin_narrows_again_when_the_next_cycle_starts(make_image):
    far = make_image(colors=[(50, 0.5)])
    stream = hue_stream.start_stream(hue=0)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    near = make_image(colors=[(5, 0.5)])

    images = hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)

    assert [streamed.card.id for streamed in images] == [near.pk]
    assert far.pk not in [streamed.card.id for streamed in images]
    assert (stream.margin, stream.widened) == (15, False)


def test_an_empty_catalogue_gives_an_empty_batch_and_the_configured_margin_again(make_image):
    stream = hue_stream.start_stream(hue=0)

    assert hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE) == []
    assert (stream.margin, stream.widened) == (15, False)


def test_after_an_empty_answer_a_live_image_must_match_at_the_configured_margin(make_image):
    stream = hue_stream.start_stream(hue=0)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    far, near = announced(image_id=1, hue=100), announced(image_id=2, hue=10)

    assert live_matches(stream, announced=[far, near]) == [2]


def test_a_widened_stream_narrows_as_soon_as_a_close_match_is_announced(make_image):
    make_image(colors=[(50, 0.5)])
    stream = hue_stream.start_stream(hue=0)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    assert (stream.margin, stream.widened) == (60, True)
    still_far = announced(image_id=1, hue=40)
    assert live_matches(stream, announced=[still_far]) == [1]
    assert (stream.margin, stream.widened) == (60, True)

    matches = live_matches(stream, announced=[announced(image_id=2, hue=5), still_far])

    assert matches == [2]
    assert (stream.margin, stream.widened) == (15, False)


def test_a_private_close_match_does_not_narrow_the_stream_of_someone_who_cannot_see_it(make_image, user):
    make_image(colors=[(50, 0.5)])
    stream = hue_stream.start_stream(hue=0)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)

    hidden = announced(image_id=2, hue=5, owner_id=user.pk, visibility="private")

    assert live_matches(stream, announced=[hidden]) == []
    assert (stream.margin, stream.widened) == (60, True)


def test_an_image_stored_after_an_empty_answer_is_found_by_the_next_request(make_image):
    stream = hue_stream.start_stream(hue=0)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    image = make_image(colors=[(10, 0.5)])

    assert [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)
    ] == [image.pk]


def test_monochrome_images_never_match_even_at_the_widest_margin(make_image):
    make_image(colors=[(None, 0.7), (None, 0.3)])
    stream = hue_stream.start_stream(hue=0)

    assert hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE) == []


def test_private_images_reach_only_their_owner_and_staff(make_image, user, other_user, staff_user):
    private = make_image(colors=[(300, 0.5)], owner=user, visibility="private")
    public = make_image(colors=[(300, 0.5)], owner=user)

    def seen_by(viewer):
        return set(walk_cycle(hue_stream.start_stream(hue=300), viewer=viewer))

    assert seen_by(user) == {private.pk, public.pk}
    assert seen_by(staff_user) == {private.pk, public.pk}
    assert seen_by(other_user) == {public.pk}
    assert seen_by(ANONYMOUS) == {public.pk}


def test_deleted_images_are_not_streamed_even_after_they_were_read_ahead(make_image):
    make_image(colors=[(120, 0.5)], deleted=True)
    pool = [make_image(colors=[(120, 0.5)]) for _ in range(40)]
    stream = hue_stream.start_stream(hue=120)
    first = [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    ]
    read_ahead = [candidate.image_id for candidate in stream.lookahead]
    Image.objects.filter(pk__in=read_ahead[:5]).update(deleted_at=timezone.now())

    rest = walk_cycle(stream)

    assert sorted(first + rest) == sorted({image.pk for image in pool} - set(read_ahead[:5]))


def test_closer_and_larger_colors_come_first(make_image):
    strong = {make_image(colors=[(180, 0.9)]).pk for _ in range(8)}
    for _ in range(30):
        make_image(colors=[(194, 0.12)])
    stream = hue_stream.start_stream(hue=180)

    first = [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    ]

    assert set(first[:8]) == strong


def test_two_streams_at_one_hue_start_with_different_images(make_image):
    for _ in range(200):
        make_image(colors=[(270, 0.5)])

    def first_batch():
        return {
            streamed.card.id
            for streamed in hue_stream.next_batch(
                hue_stream.start_stream(hue=270), viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE
            )
        }

    assert first_batch() != first_batch()


def test_images_pushed_live_are_not_repeated_later_in_the_cycle(make_image):
    pool = [make_image(colors=[(10, 0.5)]) for _ in range(30)]
    stream = hue_stream.start_stream(hue=10)
    first = [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)
    ]
    added = make_image(colors=[(12, 0.5)])
    pushed = realtime.take_added(stream, viewer=ANONYMOUS, image_ids=[added.pk])

    rest = walk_cycle(stream)

    assert [streamed.card.id for streamed in pushed] == [added.pk]
    assert sorted(first + rest) == sorted(image.pk for image in pool)
    assert realtime.sent_among(stream, image_ids=[added.pk, *first, -1]) == [added.pk, *first]


def test_announced_images_match_by_hue_and_share(other_user):
    stream = hue_stream.start_stream(hue=355)
    announced = [
        {"id": 1, "owner_id": other_user.pk, "visibility": "public", "colors": [[5, 0.4]]},
        {"id": 2, "owner_id": other_user.pk, "visibility": "public", "colors": [[350, 0.4]]},
        {"id": 3, "owner_id": other_user.pk, "visibility": "public", "colors": [[20, 0.9]]},
        {"id": 4, "owner_id": other_user.pk, "visibility": "public", "colors": [[355, 0.01]]},
        {"id": 5, "owner_id": other_user.pk, "visibility": "public", "colors": []},
    ]

    assert stream.matching_live(announced=announced) == [1, 2]


def test_a_stretch_far_denser_than_expected_is_read_again_narrower(make_image, monkeypatch):
    monkeypatch.setattr(hue_stream, "READ_CAP", 3)
    pool = {make_image(colors=[(150, 0.5), (152, 0.2)]).pk for _ in range(30)}
    stream = hue_stream.start_stream(hue=150)

    assert sorted(walk_cycle(stream)) == sorted(pool)


def test_batches_served_while_reading_ahead_cover_the_cycle_without_repeats(make_image):
    pool = {make_image(colors=[(220, 0.4)]).pk for _ in range(150)}
    stream = hue_stream.start_stream(hue=220)
    seen = [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    ]
    pending = None
    while True:
        if pending is not None and not hue_stream.can_serve(stream, size=realtime.NEXT_BATCH_SIZE):
            hue_stream.apply_read_ahead(stream, pending)
            pending = None
        images = hue_stream.next_batch(
            stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE, may_walk=pending is None
        )
        if stream.cycle or not images:
            break
        seen += [streamed.card.id for streamed in images]
        if pending is None and hue_stream.needs_read_ahead(stream):
            # Read now, taken in only once the lookahead runs short, as the consumer does.
            pending = hue_stream.read_ahead(stream, viewer=ANONYMOUS)

    assert len(seen) == len(set(seen))
    assert set(seen) == pool


def test_a_read_ahead_is_dropped_when_the_stream_walked_on_meanwhile(make_image):
    pool = {make_image(colors=[(20, 0.4)]).pk for _ in range(120)}
    stream = hue_stream.start_stream(hue=20)
    seen = [
        streamed.card.id for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    ]
    stale = hue_stream.read_ahead(stream, viewer=ANONYMOUS)
    walk_before = stream.walk
    while stream.walk is walk_before:
        seen += [
            streamed.card.id
            for streamed in hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)
        ]

    hue_stream.apply_read_ahead(stream, stale)
    seen += walk_cycle(stream)

    assert stale.candidates
    assert len(seen) == len(set(seen))
    assert set(seen) == pool


def test_a_batch_from_the_lookahead_alone_is_empty_only_when_every_candidate_there_was_deleted(make_image):
    for _ in range(60):
        make_image(colors=[(300, 0.4)])
    stream = hue_stream.start_stream(hue=300)
    hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.FIRST_BATCH_SIZE)
    held = [candidate.image_id for candidate in stream.lookahead]
    Image.objects.filter(pk__in=held[: realtime.NEXT_BATCH_SIZE]).update(deleted_at=timezone.now())

    survivors = hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE, may_walk=False)
    Image.objects.filter(pk__in=held).update(deleted_at=timezone.now())

    assert survivors and not {streamed.card.id for streamed in survivors} & set(held[: realtime.NEXT_BATCH_SIZE])
    assert hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE, may_walk=False) == []
    assert hue_stream.next_batch(stream, viewer=ANONYMOUS, size=realtime.NEXT_BATCH_SIZE)
