"""Labels that land in a worker process reach the scrollers of a server on the in-memory channel layer.

A worker is a process of its own. Through Redis its `updated` events reach every server; the
embedded in-memory layer reaches no other process, so a server on it looks in the task table
instead, every SCROLLER_LABELS_RELAY_SECONDS, for labelling tasks finished since it last looked,
and announces their images to its own scrollers. One query per interval per server process,
however many scrollers it serves.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from gallery.labels import selectors
from gallery.realtime.events import GALLERY_GROUP

logger = logging.getLogger(__name__)

_relay: asyncio.Task | None = None


def ensure_relay() -> None:
    """Start this process's relay on the running event loop, once, when the channel layer cannot carry the workers' events."""
    global _relay
    if settings.SCROLLER_LABELS_RELAY_SECONDS <= 0 or not isinstance(get_channel_layer(), InMemoryChannelLayer):
        return
    loop = asyncio.get_running_loop()
    if _relay is None or _relay.done() or _relay.get_loop() is not loop:
        _relay = loop.create_task(_relay_forever())


async def _relay_forever() -> None:
    cursor = await database_sync_to_async(selectors.last_labelling_finish)()
    while True:
        await asyncio.sleep(settings.SCROLLER_LABELS_RELAY_SECONDS)
        try:
            cursor, image_ids = await database_sync_to_async(selectors.labelled_since)(cursor=cursor)
        except Exception:
            logger.exception("labels: could not read finished labelling tasks; trying again")
            continue
        if image_ids:
            await get_channel_layer().group_send(GALLERY_GROUP, {"type": "images.updated", "ids": image_ids})
