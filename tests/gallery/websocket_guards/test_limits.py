import pytest

from gallery.websocket_guards.limits import MAX_MESSAGE_CHARS
from tests.gallery.realtime.test_consumer import WAIT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]

DEEP_JSON = "[" * 1000 + "]" * 1000


async def still_serves(communicator) -> bool:
    await communicator.send_json_to({"type": "subscribe", "hue": 10})
    return (await communicator.receive_json_from(timeout=WAIT))["type"] == "batch"


async def test_deeply_nested_json_is_a_bad_request_and_the_socket_stays_open(connect):
    communicator, _ = await connect()

    await communicator.send_to(text_data=DEEP_JSON)
    error = await communicator.receive_json_from(timeout=WAIT)

    assert (error["type"], error["code"]) == ("error", "bad_request")
    assert await still_serves(communicator)


async def test_a_message_over_the_size_limit_is_refused_unparsed(connect):
    communicator, _ = await connect()

    await communicator.send_to(text_data='{"type": "more", "padding": "' + "x" * MAX_MESSAGE_CHARS + '"}')
    error = await communicator.receive_json_from(timeout=WAIT)

    assert error["code"] == "bad_request"
    assert f"at most {MAX_MESSAGE_CHARS} characters" in error["message"]
    assert await still_serves(communicator)
