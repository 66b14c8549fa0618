"""Labels landing and descriptions changing reach the scrollers that were shown the image, live, as `updated`."""

import pytest
from channels.db import database_sync_to_async

from gallery import ingest, services
from gallery.models import Image
from tests.gallery.labels.conftest import photo_bytes, run_worker
from tests.gallery.realtime.test_consumer import ids_of, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]

WAIT = 10


async def test_labels_reach_scrollers_that_were_shown_the_image_as_an_updated_message(connect, make, user):
    data = photo_bytes("ladybug.jpg")
    [result] = await ingest.ingest_async(
        owner=user,
        uploads=[ingest.receive(filename="ladybug.jpg", size=len(data), read=lambda: data)],
        visibility="public",
    )
    assert result.id is not None
    palette = (await Image.objects.aget(pk=result.id)).palette
    hue = next(hue for hue, _, _, share in palette if hue is not None and share >= 0.1)
    shown, _ = await connect()
    elsewhere, _ = await connect()
    batch, _ = await subscribe(shown, hue=hue)
    assert ids_of(batch) == [result.id]
    assert batch["images"][0]["labels"] is None
    [other_image] = await make(colors=[((hue + 180) % 360, 0.6)])
    other_batch, _ = await subscribe(elsewhere, hue=(hue + 180) % 360)
    assert ids_of(other_batch) == [other_image]

    await database_sync_to_async(run_worker)()

    updated = await shown.receive_json_from(timeout=WAIT)
    assert updated["type"] == "updated"
    assert ids_of(updated) == [result.id]
    assert updated["images"][0]["labels"][0]["name"] == "ladybug"
    assert await shown.receive_nothing(timeout=0.5)
    assert await elsewhere.receive_nothing(timeout=0.5)


async def test_a_new_description_reaches_scrollers_that_were_shown_the_image(connect, make_image, user):
    image = await database_sync_to_async(make_image)(colors=[(200, 0.7)])
    client, _ = await connect()
    batch, _ = await subscribe(client, hue=200)
    assert ids_of(batch) == [image.pk]

    await database_sync_to_async(services.set_description)(actor=user, image_id=image.pk, description="Harbour, dusk")

    updated = await client.receive_json_from(timeout=WAIT)
    assert updated["type"] == "updated"
    assert updated["images"][0]["description"] == "Harbour, dusk"
