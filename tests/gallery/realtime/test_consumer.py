import lzma
import os
import struct
import uuid

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.db import transaction
from django.test import Client

from gallery import ingest, services
from gallery.labels.services import save_labels
from gallery.models import Image
from gallery.realtime import events
from gallery.realtime.events import GALLERY_GROUP
from scroller.asgi import application
from tests.gallery.images import solid
from tests.gallery.labelled import ESPRESSO, TABBY, labels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2"
WAIT = 10


REDIS_HOSTS = [{"address": REDIS_URL, "socket_timeout": None}]


@pytest_asyncio.fixture(params=["in-memory", "redis"])
async def channel_layer(request, settings):
    if request.param == "redis":
        config = {"hosts": REDIS_HOSTS, "prefix": f"scroller-test-{uuid.uuid4().hex}"}
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    yield layer
    await layer.flush()
    if isinstance(layer, RedisChannelLayer):
        await layer.close_pools()


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest_asyncio.fixture
async def connect():
    """Opens /ws/scroller/ through the real ASGI stack, as `user` (anonymous if None); returns it and its hello."""
    opened = []

    async def open_scroller(user=None) -> tuple[WebsocketCommunicator, dict]:
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
        if user is not None:
            headers.append((b"cookie", f"sessionid={await session_cookie(user)}".encode()))
        communicator = WebsocketCommunicator(application, "/ws/scroller/", headers=headers)
        opened.append(communicator)
        connected, _ = await communicator.connect(timeout=WAIT)
        assert connected
        return communicator, await communicator.receive_json_from(timeout=WAIT)

    yield open_scroller
    for communicator in opened:
        await communicator.disconnect(timeout=WAIT)


@pytest.fixture
def make(make_image):
    """make_image for async tests: make(count, **fields) stores `count` images, returns their ids."""

    async def make_many(count: int = 1, **fields) -> list[int]:
        return await sync_to_async(lambda: [make_image(**fields).pk for _ in range(count)])()

    return make_many


async def receive_images(communicator, *, kind: str = "batch") -> tuple[dict, dict[int, bytes]]:
    """A batch or added message and the thumbnails of its binary frame; checks the frame holds exactly its images, in order."""
    message = await communicator.receive_json_from(timeout=WAIT)
    assert message["type"] == kind, message
    if not message["images"]:
        return message, {}
    frame = await communicator.receive_from(timeout=WAIT)
    thumbnails = {}
    offset = 0
    while offset < len(frame):
        image_id, length = struct.unpack_from(">II", frame, offset)
        thumbnails[image_id] = frame[offset + 8 : offset + 8 + length]
        assert len(thumbnails[image_id]) == length
        offset += 8 + length
    assert list(thumbnails) == [meta["id"] for meta in message["images"]]
    return message, thumbnails


async def subscribe(communicator, *, hue: int) -> tuple[dict, dict[int, bytes]]:
    await communicator.send_json_to({"type": "subscribe", "hue": hue})
    return await receive_images(communicator)


async def more(communicator) -> tuple[dict, dict[int, bytes]]:
    await communicator.send_json_to({"type": "more"})
    return await receive_images(communicator)


def ids_of(message: dict) -> list[int]:
    return [meta["id"] for meta in message["images"]]


async def test_hello_tells_anonymous_visitors_they_cannot_upload(connect):
    _, hello = await connect()

    assert hello == {"type": "hello", "user": None, "can_upload": False}


async def test_hello_names_a_logged_in_user_who_may_upload(connect, user):
    _, hello = await connect(user)

    assert hello == {"type": "hello", "user": "alice", "can_upload": True}


async def test_subscribe_sends_20_thumbnails_then_more_sends_the_next_10(connect, make):
    await make(45, colors=[(200, 0.5)])
    client, _ = await connect()

    first, thumbnails = await subscribe(client, hue=200)
    second, _ = await more(client)

    assert (len(first["images"]), len(second["images"])) == (20, 10)
    assert not set(ids_of(first)) & set(ids_of(second))
    assert {key: first[key] for key in ("hue", "margin", "widened", "cycle")} == {
        "hue": 200,
        "margin": 15,
        "widened": False,
        "cycle": 0,
    }
    meta = first["images"][0]
    stored = await database_sync_to_async(lambda: bytes(Image.objects.get(pk=meta["id"]).thumbnail))()
    assert thumbnails[meta["id"]] == stored
    assert lzma.decompress(stored).startswith(b"\xff\xd8\xff")
    assert (meta["thumb_width"], meta["thumb_height"], meta["original_url"]) == (
        16,
        12,
        f"/api/images/{meta['id']}/original",
    )
    assert meta["colors"][0]["hue"] == 200


async def test_only_images_near_the_hue_are_streamed(connect, make):
    near = await make(3, colors=[(200, 0.5)])
    await make(3, colors=[(100, 0.5)])
    client, _ = await connect()

    batch, _ = await subscribe(client, hue=200)

    assert sorted(ids_of(batch)) == sorted(near)


async def test_no_image_repeats_until_the_pool_is_used_up_then_a_new_cycle_starts(connect, make):
    pool = await make(25, colors=[(30, 0.5)])
    client, _ = await connect()

    first, _ = await subscribe(client, hue=30)
    second, _ = await more(client)
    third, _ = await more(client)

    assert sorted(ids_of(first) + ids_of(second)) == sorted(pool)
    assert (first["cycle"], second["cycle"], third["cycle"]) == (0, 0, 1)
    assert len(third["images"]) == 10


async def test_two_clients_at_one_hue_start_with_different_images(connect, make):
    await make(120, colors=[(250, 0.5)])
    first_client, _ = await connect()
    second_client, _ = await connect()

    first, _ = await subscribe(first_client, hue=250)
    second, _ = await subscribe(second_client, hue=250)

    assert set(ids_of(first)) != set(ids_of(second))


async def test_hue_355_matches_an_image_of_hue_5(connect, make):
    across = await make(colors=[(5, 0.5)])
    client, _ = await connect()

    batch, _ = await subscribe(client, hue=355)

    assert ids_of(batch) == across
    assert not batch["widened"]


async def test_the_margin_widens_when_nothing_is_near(connect, make):
    far = await make(colors=[(80, 0.5)])
    client, _ = await connect()

    batch, _ = await subscribe(client, hue=0)

    assert ids_of(batch) == far
    assert (batch["widened"], batch["margin"]) == (True, 90)


async def test_an_empty_catalogue_gives_an_empty_batch_at_the_configured_margin(connect):
    client, _ = await connect()

    batch, _ = await subscribe(client, hue=0)

    assert (batch["images"], batch["widened"], batch["margin"]) == ([], False, 15)


async def test_after_an_empty_answer_only_uploads_close_to_the_hue_arrive_live(connect, user):
    client, _ = await connect()
    await subscribe(client, hue=0)

    [green] = await upload(user, color=(0, 255, 0))
    [red] = await upload(user, color=(255, 0, 0))

    added, _ = await receive_images(client, kind="added")
    assert ids_of(added) == [red]
    assert (added["widened"], added["margin"]) == (False, 15)
    assert green != red and await client.receive_nothing(timeout=0.5)


async def test_a_close_upload_narrows_a_widened_stream_and_says_so(connect, make, user):
    far = await make(colors=[(80, 0.5)])
    client, _ = await connect()
    batch, _ = await subscribe(client, hue=0)
    assert (ids_of(batch), batch["widened"], batch["margin"]) == (far, True, 90)

    [red] = await upload(user, color=(255, 0, 0))

    added, _ = await receive_images(client, kind="added")
    assert (ids_of(added), added["widened"], added["margin"]) == ([red], False, 15)
    following, _ = await more(client)
    assert (ids_of(following), following["widened"], following["margin"]) == ([red], False, 15)


async def test_monochrome_images_never_match(connect, make):
    await make(colors=[(None, 0.8), (None, 0.2)])
    client, _ = await connect()

    batch, _ = await subscribe(client, hue=0)

    assert batch["images"] == []


async def test_private_images_never_reach_another_user(connect, make, user, other_user):
    private = await make(colors=[(10, 0.5)], owner=user, visibility="private")
    public = await make(colors=[(10, 0.5)], owner=user)
    owner_client, _ = await connect(user)
    other_client, _ = await connect(other_user)
    anonymous_client, _ = await connect()

    owner_batch, _ = await subscribe(owner_client, hue=10)
    other_batch, _ = await subscribe(other_client, hue=10)
    anonymous_batch, _ = await subscribe(anonymous_client, hue=10)

    assert sorted(ids_of(owner_batch)) == sorted(private + public)
    assert ids_of(other_batch) == ids_of(anonymous_batch) == public


async def upload(owner, *, color: tuple[int, int, int]) -> list[int]:
    """Ids of a real upload of a solid-colour PNG, through the ingest pipeline the API uses."""
    data = solid(color=color)
    results = await ingest.ingest_async(
        owner=owner,
        uploads=[ingest.receive(filename="solid.png", size=len(data), read=lambda: data)],
        visibility="public",
    )
    assert all(result.id is not None for result in results), results
    return [result.id for result in results if result.id is not None]


async def test_a_new_upload_reaches_clients_at_its_hue_and_no_others(connect, make, user):
    await make(colors=[(240, 0.5)])
    red_client, _ = await connect()
    blue_client, _ = await connect()
    await subscribe(red_client, hue=0)
    await subscribe(blue_client, hue=240)
    data = solid(color=(255, 0, 0))

    [result] = await ingest.ingest_async(
        owner=user, uploads=[ingest.receive(filename="red.png", size=len(data), read=lambda: data)], visibility="public"
    )

    added, thumbnails = await receive_images(red_client, kind="added")
    assert result.id is not None and ids_of(added) == [result.id]
    assert added["images"][0]["owner"] == "alice"
    assert lzma.decompress(thumbnails[result.id]).startswith(b"\xff\xd8\xff")
    assert await blue_client.receive_nothing(timeout=0.5)


async def test_a_private_upload_reaches_its_owner_and_not_other_users(connect, make_image, user, other_user):
    owner_client, _ = await connect(user)
    other_client, _ = await connect(other_user)
    await subscribe(owner_client, hue=120)
    await subscribe(other_client, hue=120)

    @database_sync_to_async
    def upload_private():
        with transaction.atomic():
            image = make_image(colors=[(121, 0.6)], owner=user, visibility="private")
            events.announce_added(images=[image])
        return image.pk

    image_id = await upload_private()

    added, _ = await receive_images(owner_client, kind="added")
    assert ids_of(added) == [image_id]
    assert await other_client.receive_nothing(timeout=0.5)


@pytest.mark.parametrize("channel_layer", ["redis"], indirect=True)
async def test_an_upload_announced_by_another_server_process_arrives(connect, make, channel_layer):
    client, _ = await connect()
    await subscribe(client, hue=60)
    [image_id] = await make(colors=[(62, 0.5)])
    other_process = RedisChannelLayer(hosts=REDIS_HOSTS, prefix=channel_layer.prefix)

    await other_process.group_send(
        GALLERY_GROUP,
        {
            "type": "images.added",
            "images": [{"id": image_id, "owner_id": 1, "visibility": "public", "colors": [[62, 0.5]]}],
        },
    )

    added, _ = await receive_images(client, kind="added")
    assert ids_of(added) == [image_id]
    await other_process.close_pools()


async def test_an_image_pushed_live_does_not_come_again_in_the_same_cycle(connect, make_image, make):
    pool = await make(30, colors=[(300, 0.5)])
    client, _ = await connect()
    first, _ = await subscribe(client, hue=300)

    @database_sync_to_async
    def upload():
        with transaction.atomic():
            image = make_image(colors=[(300, 0.5)])
            events.announce_added(images=[image])
        return image.pk

    image_id = await upload()
    added, _ = await receive_images(client, kind="added")
    rest, _ = await more(client)

    assert ids_of(added) == [image_id]
    assert rest["cycle"] == 0
    assert sorted(ids_of(first) + ids_of(rest)) == sorted(pool)


async def test_deleting_removes_the_image_from_clients_that_were_shown_it(connect, make, user):
    [image_id] = await make(colors=[(0, 0.5)], owner=user)
    await make(colors=[(180, 0.5)])
    owner_client, _ = await connect(user)
    watcher, _ = await connect()
    elsewhere, _ = await connect()
    await subscribe(owner_client, hue=0)
    await subscribe(watcher, hue=0)
    await subscribe(elsewhere, hue=180)

    await owner_client.send_json_to({"type": "delete", "id": image_id})

    assert await watcher.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [image_id]}
    assert await owner_client.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [image_id]}
    assert await elsewhere.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(lambda: Image.objects.get(pk=image_id).is_deleted)()


async def test_staff_may_delete_anyones_image(connect, make, user, staff_user):
    [image_id] = await make(colors=[(0, 0.5)], owner=user)
    staff_client, _ = await connect(staff_user)
    await subscribe(staff_client, hue=0)

    await staff_client.send_json_to({"type": "delete", "id": image_id})

    assert await staff_client.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [image_id]}


async def test_deleting_someone_elses_image_is_forbidden_and_changes_nothing(connect, make, user, other_user):
    [image_id] = await make(colors=[(0, 0.5)], owner=user)
    intruder, _ = await connect(other_user)
    watcher, _ = await connect()
    await subscribe(intruder, hue=0)
    await subscribe(watcher, hue=0)

    await intruder.send_json_to({"type": "delete", "id": image_id})

    error = await intruder.receive_json_from(timeout=WAIT)
    assert (error["type"], error["code"], error["id"]) == ("error", "forbidden", image_id)
    assert await watcher.receive_nothing(timeout=0.5)
    assert not await database_sync_to_async(lambda: Image.objects.get(pk=image_id).is_deleted)()


async def test_anonymous_visitors_must_log_in_to_delete(connect, make, user):
    [image_id] = await make(colors=[(0, 0.5)], owner=user)
    client, _ = await connect()

    await client.send_json_to({"type": "delete", "id": image_id})

    error = await client.receive_json_from(timeout=WAIT)
    assert (error["code"], error["id"]) == ("login_required", image_id)
    assert not await database_sync_to_async(lambda: Image.objects.get(pk=image_id).is_deleted)()


async def test_deleting_an_unknown_or_invisible_image_is_not_found(connect, make, user, other_user):
    [private_id] = await make(colors=[(0, 0.5)], owner=user, visibility="private")
    client, _ = await connect(other_user)

    await client.send_json_to({"type": "delete", "id": private_id})
    hidden = await client.receive_json_from(timeout=WAIT)
    await client.send_json_to({"type": "restore", "id": 999_999})
    unknown = await client.receive_json_from(timeout=WAIT)

    assert (hidden["code"], hidden["id"], unknown["code"], unknown["id"]) == (
        "not_found",
        private_id,
        "not_found",
        999_999,
    )


async def test_restoring_brings_the_image_back_to_clients_at_its_hue(connect, make, user):
    [image_id] = await make(colors=[(90, 0.5)], owner=user)
    owner_client, _ = await connect(user)
    watcher, _ = await connect()
    await subscribe(watcher, hue=90)
    await owner_client.send_json_to({"type": "delete", "id": image_id})
    assert await watcher.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [image_id]}

    await owner_client.send_json_to({"type": "restore", "id": image_id})

    added, _ = await receive_images(watcher, kind="added")
    assert ids_of(added) == [image_id]
    assert not await database_sync_to_async(lambda: Image.objects.get(pk=image_id).is_deleted)()


async def test_making_an_image_private_removes_it_from_other_viewers_but_not_its_owner(connect, make, user):
    [image_id] = await make(colors=[(60, 0.5)], owner=user)
    owner_client, _ = await connect(user)
    watcher, _ = await connect()
    await subscribe(owner_client, hue=60)
    await subscribe(watcher, hue=60)

    await database_sync_to_async(services.set_visibility)(actor=user, image_id=image_id, visibility="private")

    assert await watcher.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [image_id]}
    assert await owner_client.receive_nothing(timeout=0.5)


async def test_making_an_image_public_brings_it_to_viewers_who_could_not_see_it(connect, make, user):
    [image_id] = await make(colors=[(60, 0.5)], owner=user, visibility="private")
    owner_client, _ = await connect(user)
    watcher, _ = await connect()
    await subscribe(owner_client, hue=60)
    _, shown = await subscribe(watcher, hue=60)
    assert image_id not in shown

    await database_sync_to_async(services.set_visibility)(actor=user, image_id=image_id, visibility="public")

    added, _ = await receive_images(watcher, kind="added")
    assert ids_of(added) == [image_id]
    assert await owner_client.receive_nothing(timeout=0.5)


async def test_restoring_someone_elses_deleted_image_is_not_found_and_changes_nothing(connect, make, user, other_user):
    [image_id] = await make(colors=[(90, 0.5)], owner=user)
    await database_sync_to_async(services.soft_delete_image)(actor=user, image_id=image_id)
    client, _ = await connect(other_user)

    await client.send_json_to({"type": "restore", "id": image_id})

    error = await client.receive_json_from(timeout=WAIT)
    assert (error["code"], error["id"]) == ("not_found", image_id)
    assert await database_sync_to_async(lambda: Image.objects.get(pk=image_id).is_deleted)()


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[1, 2]",
        '{"type": "dance"}',
        '{"hue": 10}',
        '{"type": "subscribe"}',
        '{"type": "subscribe", "hue": 360}',
        '{"type": "subscribe", "hue": -1}',
        '{"type": "subscribe", "hue": "10"}',
        '{"type": "subscribe", "hue": 10.5}',
        '{"type": "subscribe", "hue": true}',
        '{"type": "subscribe", "q": " "}',
        '{"type": "subscribe", "q": "cat", "hue": 400}',
        '{"type": "delete", "id": "7"}',
        '{"type": "restore"}',
        '{"type": "delete", "id": 0}',
        b"\x00\x01",
    ],
)
async def test_malformed_input_is_a_bad_request_and_changes_nothing(connect, make, bad):
    pool = await make(25, colors=[(200, 0.5)])
    client, _ = await connect()
    first, _ = await subscribe(client, hue=200)

    await (client.send_to(bytes_data=bad) if isinstance(bad, bytes) else client.send_to(text_data=bad))
    error = await client.receive_json_from(timeout=WAIT)
    following, _ = await more(client)

    assert (error["type"], error["code"]) == ("error", "bad_request")
    assert error["message"]
    assert (following["hue"], following["cycle"]) == (200, 0)
    assert sorted(ids_of(first) + ids_of(following)) == sorted(pool)


async def test_more_before_subscribe_is_a_bad_request(connect):
    client, _ = await connect()

    await client.send_json_to({"type": "more"})

    assert (await client.receive_json_from(timeout=WAIT))["code"] == "bad_request"


async def test_a_bulk_restore_brings_the_images_back_to_clients_at_their_hue_after_commit(connect, make, user):
    image_ids = await make(2, colors=[(150, 0.5)], owner=user, deleted=True)
    watcher, _ = await connect()
    await subscribe(watcher, hue=150)

    restored = await database_sync_to_async(services.restore_images)(actor=user, image_ids=image_ids)

    added, _ = await receive_images(watcher, kind="added")
    assert sorted(ids_of(added)) == sorted(restored) == sorted(image_ids)


async def test_a_search_streams_its_matches_best_first_then_starts_a_new_cycle(connect, make_found, other_user):
    @database_sync_to_async
    def catalogue() -> list[int]:
        cats = [make_found(labelled=[(TABBY, (index + 1) / 40)]).pk for index in range(25)]
        make_found(labelled=[(TABBY, 0.99)], owner=other_user, visibility="private")
        make_found(description="dog")
        return cats[::-1]

    ranked = await catalogue()
    client, _ = await connect()

    await client.send_json_to({"type": "subscribe", "q": "Cats"})
    first, thumbnails = await receive_images(client)
    rest, _ = await more(client)
    again, _ = await more(client)

    assert (first["type"], first["q"], first["hue"], first["cycle"]) == ("batch", "Cats", None, 0)
    assert ids_of(first) + ids_of(rest) == ranked and len(thumbnails) == 20
    assert (again["cycle"], ids_of(again)) == (1, ranked[:10])


async def test_a_search_that_finds_nothing_is_an_empty_batch(connect, make_found):
    await database_sync_to_async(make_found)(description="dog")
    client, _ = await connect()

    await client.send_json_to({"type": "subscribe", "q": "xyzzy", "hue": 10})
    message, _ = await receive_images(client)

    assert (message["q"], message["hue"], message["images"]) == ("xyzzy", 10, [])


async def test_a_matching_upload_reaches_a_search_live_and_its_deletion_removes_it(connect, make_found, user):
    await database_sync_to_async(make_found)(description="kite")
    kite_client, _ = await connect()
    boat_client, _ = await connect()
    await kite_client.send_json_to({"type": "subscribe", "q": "kites"})
    await boat_client.send_json_to({"type": "subscribe", "q": "boat"})
    await receive_images(kite_client)
    await receive_images(boat_client)
    data = solid(color=(255, 0, 0))

    [result] = await ingest.ingest_async(
        owner=user,
        uploads=[ingest.receive(filename="Red Kite.png", size=len(data), read=lambda: data)],
        visibility="public",
    )
    added, _ = await receive_images(kite_client, kind="added")
    await database_sync_to_async(services.soft_delete_image)(actor=user, image_id=result.id)

    assert ids_of(added) == [result.id]
    assert await kite_client.receive_json_from(timeout=WAIT) == {"type": "removed", "ids": [result.id]}
    assert await boat_client.receive_nothing(timeout=0.5)


async def test_an_image_whose_labels_land_later_reaches_the_searches_it_now_matches(connect, make_found, user):
    image = await database_sync_to_async(make_found)(description="mug", owner=user)
    coffee_client, _ = await connect()
    mug_client, _ = await connect()
    await coffee_client.send_json_to({"type": "subscribe", "q": "coffee"})
    await mug_client.send_json_to({"type": "subscribe", "q": "mug"})
    assert ids_of((await receive_images(coffee_client))[0]) == []
    assert ids_of((await receive_images(mug_client))[0]) == [image.pk]

    await database_sync_to_async(save_labels)(labels_by_id={image.pk: labels((ESPRESSO, 0.9))})
    added, _ = await receive_images(coffee_client, kind="added")

    assert ids_of(added) == [image.pk]
    updated = await mug_client.receive_json_from(timeout=WAIT)
    assert (updated["type"], ids_of(updated)) == ("updated", [image.pk])
    assert await mug_client.receive_nothing(timeout=0.5)
