import pytest
from channels.testing import WebsocketCommunicator

from gallery.websocket_guards.layer import SERVICE_RESTART
from scroller.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

WAIT = 10


async def open_scroller() -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/scroller/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    assert (await communicator.receive_json_from(timeout=WAIT))["type"] == "hello"
    return communicator


async def empty_batch_at(communicator: WebsocketCommunicator, *, hue: int) -> dict:
    await communicator.send_json_to({"type": "subscribe", "hue": hue})
    return await communicator.receive_json_from(timeout=WAIT)


async def test_an_open_socket_keeps_its_stream_through_a_redis_outage_then_closes_to_resubscribe(own_redis):
    communicator = await open_scroller()

    own_redis.stop()
    during = await empty_batch_at(communicator, hue=120)
    own_redis.start()
    closed = await communicator.receive_output(timeout=WAIT)

    assert during["type"] == "batch"
    assert closed == {"type": "websocket.close", "code": SERVICE_RESTART}


async def test_a_socket_opened_while_redis_is_down_serves_its_stream(own_redis):
    own_redis.stop()

    communicator = await open_scroller()
    batch = await empty_batch_at(communicator, hue=40)
    own_redis.start()
    closed = await communicator.receive_output(timeout=WAIT)

    assert batch["type"] == "batch"
    assert closed == {"type": "websocket.close", "code": SERVICE_RESTART}
