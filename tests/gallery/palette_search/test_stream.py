"""The palette stream over the real websocket: {"type": "subscribe", "colors": [...]}."""

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from gallery import services
from gallery.palette_search import stream as palette_stream
from gallery.realtime import events
from tests.gallery.realtime.test_consumer import WAIT, channel_layer, connect, ids_of, make, more, receive_images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]

__all__ = ["channel_layer", "connect", "make"]

TEAL, ORANGE = 180, 30
TEAL_AND_ORANGE = [{"hue": TEAL, "weight": 60}, {"hue": ORANGE, "weight": 20}]


async def subscribe_colors(communicator, colors: list[dict]) -> tuple[dict, dict[int, bytes]]:
    await communicator.send_json_to({"type": "subscribe", "colors": colors})
    return await receive_images(communicator)


async def test_the_best_covering_images_come_first_and_the_batch_says_what_was_asked(connect, make):
    [exact] = await make(colors=[(TEAL, 0.6), (ORANGE, 0.2)])
    [teal_only] = await make(colors=[(TEAL, 0.6)])
    [near] = await make(colors=[(TEAL + 3, 0.55), (ORANGE - 2, 0.22)])
    await make(colors=[(270, 0.9)])
    client, _ = await connect()

    batch, thumbnails = await subscribe_colors(client, TEAL_AND_ORANGE)

    assert ids_of(batch) == [exact, near, teal_only]
    assert set(thumbnails) == {exact, near, teal_only}
    assert (batch["colors"], batch["cycle"]) == (TEAL_AND_ORANGE, 0)


async def test_no_image_repeats_within_a_cycle_then_the_next_cycle_starts_from_the_best(connect, make):
    pool = await make(35, colors=[(TEAL, 0.5)])
    client, _ = await connect()

    first, _ = await subscribe_colors(client, [{"hue": TEAL, "weight": 50}])
    second, _ = await more(client)
    third, _ = await more(client)
    next_cycle, _ = await more(client)

    shown = ids_of(first) + ids_of(second)
    assert (len(ids_of(first)), len(ids_of(second)), len(ids_of(third))) == (20, 10, 5)
    assert sorted(shown + ids_of(third)) == sorted(pool)
    assert third["cycle"] == 0 and next_cycle["cycle"] == 1
    assert ids_of(next_cycle) == ids_of(first)[:10]


async def test_nobody_sees_another_users_private_image(connect, make, user, other_user):
    [private] = await make(colors=[(TEAL, 0.6)], owner=user, visibility="private")
    [public] = await make(colors=[(TEAL, 0.5)], owner=user)
    [deleted] = await make(colors=[(TEAL, 0.6)], owner=user, deleted=True)
    owner_client, _ = await connect(user)
    other_client, _ = await connect(other_user)
    anonymous_client, _ = await connect()

    owner_batch, _ = await subscribe_colors(owner_client, [{"hue": TEAL, "weight": 60}])
    other_batch, _ = await subscribe_colors(other_client, [{"hue": TEAL, "weight": 60}])
    anonymous_batch, _ = await subscribe_colors(anonymous_client, [{"hue": TEAL, "weight": 60}])

    assert ids_of(owner_batch) == [private, public]
    assert ids_of(other_batch) == ids_of(anonymous_batch) == [public]
    assert deleted not in ids_of(owner_batch)


async def test_a_matching_upload_arrives_live_to_whoever_may_see_it_and_not_again_that_cycle(
    connect, make_image, make, user, other_user
):
    pool = await make(25, colors=[(TEAL, 0.5)])
    watcher, _ = await connect()
    owner, _ = await connect(user)
    other, _ = await connect(other_user)
    first, _ = await subscribe_colors(watcher, [{"hue": TEAL, "weight": 50}])
    await subscribe_colors(owner, [{"hue": TEAL, "weight": 50}])
    await subscribe_colors(other, [{"hue": TEAL, "weight": 50}])

    @database_sync_to_async
    def upload(*, colors, visibility="public"):
        with transaction.atomic():
            image = make_image(colors=colors, owner=user, visibility=visibility)
            events.announce_added(images=[image])
        return image.pk

    far = await upload(colors=[(TEAL + 90, 0.8)])
    private = await upload(colors=[(TEAL + 2, 0.6)], visibility="private")
    close = await upload(colors=[(TEAL - 5, 0.5)])

    owner_private, _ = await receive_images(owner, kind="added")
    added, _ = await receive_images(watcher, kind="added")
    other_added, _ = await receive_images(other, kind="added")
    rest, _ = await more(watcher)

    assert ids_of(owner_private) == [private]
    assert ids_of(added) == ids_of(other_added) == [close]
    assert added["colors"] == [{"hue": TEAL, "weight": 50}]
    assert far not in ids_of(added) and close not in ids_of(rest)
    assert rest["cycle"] == 0 and sorted(ids_of(first) + ids_of(rest)) == sorted(pool)


async def test_deleted_images_are_removed_and_new_labels_reach_the_stream_as_updates(connect, make, user):
    [kept, gone] = await make(2, colors=[(TEAL, 0.5)], owner=user)
    client, _ = await connect()
    await subscribe_colors(client, [{"hue": TEAL, "weight": 50}])

    await database_sync_to_async(services.soft_delete_image)(actor=user, image_id=gone)
    removed = await client.receive_json_from(timeout=WAIT)
    await database_sync_to_async(services.set_description)(actor=user, image_id=kept, description="Teal lagoon")
    updated = await client.receive_json_from(timeout=WAIT)

    assert removed == {"type": "removed", "ids": [gone]}
    assert updated["type"] == "updated" and updated["images"][0]["description"] == "Teal lagoon"


async def test_nothing_matching_is_an_empty_batch(connect, make):
    await make(colors=[(TEAL, 0.5)])
    client, _ = await connect()

    batch, _ = await subscribe_colors(client, [{"hue": ORANGE, "weight": 30}])

    assert batch["images"] == [] and batch["colors"] == [{"hue": ORANGE, "weight": 30}]


@pytest.mark.parametrize(
    ("colors", "reason"),
    [
        ([{"hue": hue, "weight": 10} for hue in (0, 90, 180, 270)], "at most 3 colours, got 4"),
        ([{"hue": 360, "weight": 10}], "hue must be a whole number between 0 and 359"),
        ([{"hue": "teal", "weight": 10}], "hue must be a whole number"),
        ([{"hue": 180, "weight": 0}], "weight must be a whole number between 1 and 100"),
        ([{"hue": 180, "weight": 12.5}], "weight must be a whole number"),
        ([{"hue": 180}], "weight must be"),
        ([{"hue": 180, "weight": 70}, {"hue": 30, "weight": 40}], "the weights add up to more than 100"),
        ([{"hue": 180, "weight": 50, "saturation": 40}], "value must be"),
        ([{"hue": 180, "weight": 50, "tint": 3}], "must be an object of hue, weight"),
        ([], "must be a list of colours"),
        ("180:60", "must be a list of colours"),
    ],
)
async def test_bad_colors_are_a_bad_request_with_the_reason_and_change_nothing(connect, make, colors, reason):
    pool = await make(25, colors=[(TEAL, 0.5)])
    client, _ = await connect()
    first, _ = await subscribe_colors(client, [{"hue": TEAL, "weight": 50}])

    await client.send_json_to({"type": "subscribe", "colors": colors})
    error = await client.receive_json_from(timeout=WAIT)
    following, _ = await more(client)

    assert (error["type"], error["code"]) == ("error", "bad_request")
    assert reason in error["message"]
    assert following["colors"] == [{"hue": TEAL, "weight": 50}] and following["cycle"] == 0
    assert sorted(ids_of(first) + ids_of(following)) == sorted(pool)


async def test_colors_do_not_combine_with_a_search_or_a_hue_on_the_websocket(connect):
    client, _ = await connect()

    await client.send_json_to({"type": "subscribe", "colors": TEAL_AND_ORANGE, "q": "lagoon"})
    error = await client.receive_json_from(timeout=WAIT)

    assert error["code"] == "bad_request" and "does not combine" in error["message"]


async def test_a_ranking_longer_than_one_stretch_is_walked_whole_without_repeats(connect, make, monkeypatch):
    monkeypatch.setattr(palette_stream, "RANKED_AT_ONCE", 7)
    pool = await make(21, colors=[(TEAL, 0.5)])
    client, _ = await connect()

    first, _ = await subscribe_colors(client, [{"hue": TEAL, "weight": 50}])
    last, _ = await more(client)
    next_cycle, _ = await more(client)

    assert sorted(ids_of(first) + ids_of(last)) == sorted(pool)
    assert (first["cycle"], last["cycle"], next_cycle["cycle"]) == (0, 0, 1)
    assert ids_of(next_cycle) == ids_of(first)[:10]
