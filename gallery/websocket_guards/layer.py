"""A websocket consumer that outlives an outage of its channel layer (Redis).

Channels joins a consumer's groups before `connect()` and waits on the layer for the whole life of
the socket; when Redis is down the first fails the handshake with HTTP 500 and the second kills
every open socket with 1011. Here a socket opens and keeps serving its stream while the layer is
down (only live events are missing), and when the layer answers again it is closed with 1012
(service restart): the page reconnects and subscribes again, and so catches up on what it missed.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

logger = logging.getLogger(__name__)

SERVICE_RESTART = 1012
RETRY_FIRST_SECONDS = 0.25
RETRY_CAP_SECONDS = 5.0


class LayerOutageTolerantConsumer(AsyncWebsocketConsumer):
    layer_down = False

    # Channels stores the layer's receive function here and waits on it beside the client's
    # messages; the property puts the outage handling between the two.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = receive

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        try:
            await self._join_groups()
        except Exception:
            self._note_outage("could not join the live-event groups")
        await self.connect()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        try:
            for group in self.groups:
                await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:
            # The layer expires the membership by itself (channels-redis: group_expiry).
            logger.warning("could not leave the live-event groups while closing a websocket", exc_info=True)
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def _join_groups(self) -> None:
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def _receive_from_layer(self) -> dict[str, Any]:
        if not self.layer_down:
            try:
                return await self._layer_receive()
            except Exception:
                self._note_outage("lost the channel layer")
        await self._wait_for_layer()
        logger.info("channel layer back: closing a websocket that missed live events, so that it resubscribes")
        await self.close(code=SERVICE_RESTART)
        # Nothing more comes from the layer for this socket; Channels cancels the wait as it closes.
        closing: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        return await closing

    async def _wait_for_layer(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await self._join_groups()
                return
            except Exception:
                delay = min(RETRY_CAP_SECONDS, delay * 2)

    def _note_outage(self, what: str) -> None:
        self.layer_down = True
        logger.warning("websocket %s: live events stop until it answers again", what, exc_info=True)
