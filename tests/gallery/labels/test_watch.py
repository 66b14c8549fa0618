"""The image page watches its one image on the websocket: its labels reach it as they land, and only if it may see it."""

import pytest
from channels.db import database_sync_to_async

from gallery.labels.services import save_labels
from gallery.models import Image
from tests.gallery.labelled import TABBY, labels
from tests.gallery.realtime.test_consumer import ids_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]

WAIT = 10


async def watch(client, image_id: object) -> dict:
    await client.send_json_to({"type": "watch", "id": image_id})
    return await client.receive_json_from(timeout=WAIT)


async def land(image_id: int) -> None:
    await database_sync_to_async(save_labels)(labels_by_id={image_id: labels((TABBY, 0.8))})


async def test_a_watched_image_comes_at_once_then_again_when_its_labels_land(connect, make_image, user):
    image = await database_sync_to_async(make_image)(colors=[(200, 0.7)])
    client, _ = await connect()

    now = await watch(client, image.pk)
    await land(image.pk)
    updated = await client.receive_json_from(timeout=WAIT)

    assert (now["type"], ids_of(now), now["images"][0]["labels"]) == ("updated", [image.pk], None)
    assert (updated["type"], ids_of(updated)) == ("updated", [image.pk])
    assert updated["images"][0]["labels"][0]["name"] == "tabby cat"


async def test_only_the_watched_image_is_sent(connect, make_image):
    watched, other = [await database_sync_to_async(make_image)(colors=[(200, 0.7)]) for _ in range(2)]
    client, _ = await connect()
    await watch(client, watched.pk)

    await land(other.pk)

    assert await client.receive_nothing(timeout=0.5)


async def test_watching_an_image_the_viewer_may_not_see_is_not_found_and_brings_nothing(
    connect, make_image, user, other_user
):
    private = await database_sync_to_async(make_image)(owner=other_user, visibility="private")
    client, _ = await connect(user)

    refused = await watch(client, private.pk)
    await land(private.pk)

    assert (refused["type"], refused["code"], refused["id"]) == ("error", "not_found", private.pk)
    assert await client.receive_nothing(timeout=0.5)


async def test_an_image_made_private_after_it_was_watched_sends_nothing_more_to_others(connect, make_image, user):
    image = await database_sync_to_async(make_image)(owner=user)
    anonymous, _ = await connect()
    owner, _ = await connect(user)
    await watch(anonymous, image.pk)
    await watch(owner, image.pk)

    await Image.objects.filter(pk=image.pk).aupdate(visibility="private")
    await land(image.pk)

    assert (await owner.receive_json_from(timeout=WAIT))["images"][0]["labels"][0]["name"] == "tabby cat"
    assert await anonymous.receive_nothing(timeout=0.5)


async def test_watch_needs_an_image_id(connect):
    client, _ = await connect()

    refused = await watch(client, "seven")

    assert (refused["type"], refused["code"]) == ("error", "bad_request")
