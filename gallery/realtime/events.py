"""Realtime events for open scrollers, sent through the channel layer only after the database commit.

A write that committed answers as committed: when the channel layer (Redis) fails, the event is
logged and counted, never raised into the request. Scrollers that missed events while the layer
was down catch up when it is back (gallery.websocket_guards.layer closes them, and the page re-subscribes).
"""

import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from gallery.models import Image

GALLERY_GROUP = "gallery"

logger = logging.getLogger(__name__)


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> int:
        with self._lock:
            self.value += 1
            return self.value


# Events the channel layer refused since the process started; also in each failure's log line.
undelivered_events = _Counter()


def announce_added(*, images: list[Image], published: bool = False) -> None:
    """Tell every scroller that these images appeared (uploaded, restored, or with `published` made public); each consumer filters by hue and visibility."""
    if not images:
        return
    message = {"type": "images.added", "published": published, "images": _announced(images)}
    transaction.on_commit(lambda: _send(message))


def _announced(images: list[Image]) -> list[dict]:
    return [
        {
            "id": image.pk,
            "owner_id": image.owner_id,
            "visibility": image.visibility,
            "colors": [[hue, share] for hue, _, _, share in image.palette if hue is not None],
        }
        for image in images
    ]


def announce_hidden(*, images: list[Image]) -> None:
    """Tell every scroller that these images were made private; each consumer removes them where its viewer may no longer see them."""
    if not images:
        return
    message = {"type": "images.hidden", "images": [{"id": image.pk, "owner_id": image.owner_id} for image in images]}
    transaction.on_commit(lambda: _send(message))


def announce_removed(*, image_ids: list[int]) -> None:
    if not image_ids:
        return
    message = {"type": "images.removed", "ids": list(image_ids)}
    transaction.on_commit(lambda: _send(message))


def announce_updated(*, image_ids: list[int]) -> None:
    """Tell every scroller that what it shows of these images changed (labels, description); each consumer reloads the ones it was sent."""
    if not image_ids:
        return
    message = {"type": "images.updated", "ids": list(image_ids)}
    transaction.on_commit(lambda: _send(message))


def _send(message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(GALLERY_GROUP, message)
    except Exception:
        # Any failure of the layer: the rows are committed, and the request must say so.
        failures = undelivered_events.add()
        logger.exception("live event %s not sent (%d undelivered since start)", message["type"], failures)
