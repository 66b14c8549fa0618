"""The message rate as Daphne applies it: a real server, a real websocket client that floods it."""

import asyncio
import json

import pytest
import websockets
from websockets.typing import Origin

from gallery.websocket_guards.limits import POLICY_VIOLATION

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_messages_a_second(settings):
    settings.SCROLLER_WS_MESSAGES_PER_SECOND = 2  # bursts of 4, closed after 4 more dropped messages


async def flood(*, server, messages: int) -> tuple[list[dict], websockets.ConnectionClosed]:
    """Sends `messages` requests at once; returns every answer until the server closed the socket, and how it closed it."""
    async with websockets.connect(f"{server.ws_url}/ws/scroller/", origin=Origin(server.url)) as websocket:
        assert json.loads(await websocket.recv())["type"] == "hello"
        for _ in range(messages):
            await websocket.send('{"type": "more"}')
        answers = []
        try:
            while True:
                answers.append(json.loads(await asyncio.wait_for(websocket.recv(), timeout=30)))
        except websockets.ConnectionClosed as closed:
            return answers, closed


def test_a_flooding_client_is_told_it_is_rate_limited_then_disconnected(two_messages_a_second, daphne_server):
    answers, closed = asyncio.run(flood(server=daphne_server, messages=40))

    codes = [answer["code"] for answer in answers]
    assert codes.count("rate_limited") == 1
    # The four admitted messages ("more" before any subscribe) reach the consumer; none of the dropped ones do.
    assert codes.count("bad_request") <= 4
    assert closed.rcvd is not None and closed.rcvd.code == POLICY_VIOLATION


def test_a_flooder_closed_for_it_is_refused_new_connections_for_a_while(two_messages_a_second, daphne_server):
    asyncio.run(flood(server=daphne_server, messages=40))

    async def connect_again() -> None:
        async with websockets.connect(f"{daphne_server.ws_url}/ws/scroller/", origin=Origin(daphne_server.url)):
            pass

    # Connected directly (no proxy in front), its connections are closed before a handshake is read.
    with pytest.raises(websockets.InvalidMessage):
        asyncio.run(connect_again())


def test_a_client_within_its_burst_is_served_in_full(two_messages_a_second, daphne_server):
    async def within_burst() -> list[str]:
        async with websockets.connect(
            f"{daphne_server.ws_url}/ws/scroller/", origin=Origin(daphne_server.url)
        ) as websocket:
            await websocket.recv()
            for _ in range(4):
                await websocket.send('{"type": "more"}')
            return [json.loads(await asyncio.wait_for(websocket.recv(), timeout=30))["code"] for _ in range(4)]

    assert asyncio.run(within_burst()) == ["bad_request"] * 4
