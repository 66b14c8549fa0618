"""The scroller websocket, /ws/scroller/: an endless, colour-matched stream of thumbnails.

Protocol (text frames are JSON objects; a binary frame carries the thumbnails of the message before it):

Client -> server
  {"type": "subscribe", "hue": H}   H an integer 0-359. Starts a fresh stream at H; answered by a batch of ~20.
  {"type": "subscribe", "q": TEXT}  Starts a fresh stream of the images matching TEXT, best first (gallery.search);
                                    with "hue": H as well, only those with a colour near H. Same batches and rules.
  {"type": "subscribe", "colors": [{"hue": H, "weight": W}, ...]}
                                    Up to 3 colours (W a percentage 1-100, together at most 100; optionally
                                    "saturation" and "value", 0-100, both or neither): a stream of the images
                                    whose palettes best cover them (gallery.palette_search), best first.
  {"type": "more"}                  The next batch of ~10 of the current stream.
  {"type": "delete", "id": N}       Soft-delete image N (owner or staff).
  {"type": "restore", "id": N}      Bring a soft-deleted image N back (owner or staff).
  {"type": "watch", "id": N}        Follow image N alone (the image page): answered by an "updated" message with
                                    its META now, then one each time its labels or description change. Only an
                                    image this client may see: otherwise not_found, as for an image that does
                                    not exist. One image per connection; a new watch replaces the last.
  A delete or restore that succeeds has no reply of its own: like anyone else's, it reaches
  every client concerned, this one included, as "removed" or "added" below.

Server -> client
  {"type": "hello", "user": "name" | null, "can_upload": bool}
      Once, right after the connection opens.
  {"type": "batch", "hue": H, "margin": M, "widened": bool, "cycle": C, "images": [META, ...]}
      followed, unless empty, by one binary frame of its thumbnails. M is the hue margin the
      stream matches with; widened is true when nothing matched at the configured margin
      and M was widened (30, 60, 90, 180). C counts how often the matching pool was used
      up: within one cycle no image comes twice, the next cycle repeats it in a new order.
      A batch never spans two cycles, so it may be short; it is empty only when nothing
      at all matches, and then M is back at the configured margin (widened false), which
      is what images arriving live are matched with. A search stream's batch is {"type": "batch", "q": TEXT, "hue": H | null,
      "cycle": C, "images": [...]}: best match first, each cycle in the same order. A palette stream's is
      {"type": "batch", "colors": [{"hue", "weight"}...], "cycle": C, "images": [...]}, likewise.
  {"type": "added", "hue": H, "margin": M, "widened": bool, "cycle": C, "images": [META, ...]} + one binary frame
      of their thumbnails (a search stream's says "q" instead of margin and widened, as its batches do)
      Live: images uploaded or restored since, that match this stream (hue, margin,
      share) and that this client may see; the stream does not send them again in
      the same cycle. A widened stream that one of them matches at the configured margin
      narrows back to it first (a new cycle), so M and widened may differ from the last batch's.
  {"type": "updated", "images": [META, ...]}
      Live, no binary frame: images this client was sent (the last 5,000) or watches whose labels or
      description changed since, as this client may still see them.
  {"type": "removed", "ids": [N, ...]}
      Live: images deleted, or made private by someone else, since, among those this client
      was sent (the last 5,000). An image made public reaches those who could not see it as "added".
  {"type": "error", "code": "bad_request" | "login_required" | "forbidden" | "not_found" | "rate_limited",
   "message": "...", "id": N}
      "id" only for delete, restore and watch; not_found also covers images this user may not
      see, such as someone else's deleted or private ones. Malformed input (not JSON, unknown type, hue out of
      range, id not an integer, more before subscribe) gets bad_request; the connection
      stays open and nothing changes.

META is gallery.serializers.card_to_dict(card, viewer=user), the API's image JSON without its
detail fields. A binary frame holds one record per image of the message, in META order: the
image id and the thumbnail's byte length, each a 4-byte big-endian unsigned integer, then the
stored thumbnail as it is kept (an xz container around a JPEG, META["thumb_type"] once
unpacked); never re-encoded. One frame per message rather than per image: every websocket
message has a fixed cost in Channels, Daphne and autobahn.
Anonymous clients may watch public images; delete and restore need a login.

Limits and closing codes (gallery.websocket_guards): messages over 4,096 characters are bad_request;
over SCROLLER_WS_MESSAGES_PER_SECOND a client gets one rate_limited error, its messages are dropped
as Daphne reads them, and it is closed with 1008 if it keeps on. 4401: the user's session ended (logout, new password,
deactivation). 1012: the channel layer came back after an outage; reconnect and subscribe again.
"""

import asyncio
import functools
import json
import os
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeGuard

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections

from accounts.users import Viewer
from gallery import services
from gallery.labels.relay import ensure_relay
from gallery.models import Image
from gallery.palette_search.query import PaletteQueryError, colors_from_message
from gallery.palette_search.stream import start_palette_stream
from gallery.realtime import hue_stream
from gallery.realtime import stream as realtime
from gallery.realtime.events import GALLERY_GROUP
from gallery.realtime.stream import Stream, StreamedImage
from gallery.search.stream import start_search_stream
from gallery.websocket_guards import limits, sessions
from gallery.websocket_guards.layer import LayerOutageTolerantConsumer

# Stream reads are independent per connection, so they need not queue behind channels'
# one thread-sensitive thread: pools let their database round trips overlap, and their
# sizes bound the database connections (one per thread). Threads per pool:
DB_POOLS = {
    # Batches served from the image cache are CPU work, where threads mostly fight over the GIL;
    # on a catalogue larger than the database's memory they wait on its disk reads, which more
    # threads overlap. Measured with bench/ws_clients.py (1,000 clients, 500 requests/s): on the
    # 1M catalogue p95 580 ms with 2 threads and 43 ms with 4; on the 10k one 6.7 ms with 2 and
    # 9.7 ms with 4 (and 241 ms with 8, when a batch took two queries more).
    "batches": 4,
    # Reading ahead starts while three batches are still in hand, so it can wait. In a pool of
    # its own, a burst of read-aheads (clients that subscribed together reach the end of their
    # lookahead together) queues there instead of in front of the batches clients wait for.
    "read-ahead": 2,
}
# How often a pool thread closes stale database connections (CONN_MAX_AGE, errors, and the
# CONN_HEALTH_CHECKS ping): see in_db_thread.
CONNECTION_CHECK_SECONDS = 1.0
MAX_IMAGE_ID = 2**32 - 1
MAX_QUERY_LENGTH = 200

_executors: dict[str, ThreadPoolExecutor] = {}


def db_executor(pool: str) -> ThreadPoolExecutor:
    """The process's pool of database threads named `pool` (a key of DB_POOLS), made on first use."""
    if pool not in _executors:
        _executors[pool] = ThreadPoolExecutor(max_workers=DB_POOLS[pool], thread_name_prefix=f"scroller-ws-{pool}")
    return _executors[pool]


def _forget_executors_in_child() -> None:
    """A forked process (a test server) inherits the pools' bookkeeping but not their threads, and work sent to them would never run."""
    _executors.clear()


os.register_at_fork(after_in_child=_forget_executors_in_child)


def in_db_thread(pool: str = "batches"):
    """Run the decorated reads in the process's pool of database threads named `pool`.

    Not through Channels' database_sync_to_async: that closes stale connections before and
    after every call, and with CONN_HEALTH_CHECKS the next query then first pings the
    database, a round trip per batch; with asgiref's context handling around it, that was
    a fifth of a batch's CPU. Here each thread checks its connection at most once every
    CONNECTION_CHECK_SECONDS, and at once after a call failed, which is what closes a broken
    connection. Only for work that sends no channel-layer events: async_to_sync (which the
    events' sending uses) needs the thread to come from asgiref (see change_image).
    """

    def decorate(function):
        @functools.wraps(function)
        async def run(*args, **kwargs):
            call = functools.partial(_with_connection_checks, function, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(db_executor(pool), call)

        return run

    return decorate


_connections_checked = threading.local()


def _with_connection_checks(function, *args: Any, **kwargs: Any) -> Any:
    now = time.monotonic()
    if now - getattr(_connections_checked, "at", -CONNECTION_CHECK_SECONDS) >= CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _connections_checked.at = now
    try:
        return function(*args, **kwargs)
    except BaseException:
        close_old_connections()
        raise


class BadRequest(ValueError):
    pass


def parse_request(text: str | None) -> dict:
    """The client's request, validated; raises BadRequest with a message for the client."""
    if text is None:
        raise BadRequest("Send JSON text frames.")
    if len(text) > limits.MAX_MESSAGE_CHARS:
        raise BadRequest(f"Messages are at most {limits.MAX_MESSAGE_CHARS} characters.")
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest("Not valid JSON.") from None
    if not isinstance(request, dict):
        raise BadRequest("Send a JSON object.")
    kind = request.get("type")
    if kind == "subscribe" and request.get("colors") is not None:
        if request.get("q") is not None or request.get("hue") is not None:
            raise BadRequest("colors does not combine with q or hue: subscribe to a palette, a search or a hue.")
        try:
            request["asked"] = colors_from_message(request["colors"])
        except PaletteQueryError as problem:
            raise BadRequest(str(problem)) from None
    elif kind == "subscribe":
        hue = request.get("hue")
        query = request.get("q")
        if query is not None and (not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_LENGTH):
            raise BadRequest(f"q must be a text of 1 to {MAX_QUERY_LENGTH} characters.")
        if (hue is not None or query is None) and (not _is_int(hue) or not 0 <= hue <= 359):
            raise BadRequest("hue must be an integer from 0 to 359.")
    elif kind in ("delete", "restore", "watch"):
        image_id = request.get("id")
        if not _is_int(image_id) or not 1 <= image_id <= MAX_IMAGE_ID:
            raise BadRequest("id must be a positive integer image id.")
    elif kind != "more":
        raise BadRequest("type must be one of subscribe, more, delete, restore, watch.")
    return request


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


THUMBNAIL_RECORD_HEADER = struct.Struct(">II")


class Outgoing(NamedTuple):
    """A message ready to send: its JSON text, how many images it lists, and their thumbnails' binary frame."""

    text: str
    images: int
    thumbnails: bytes


def thumbnails_frame(images: list[StreamedImage]) -> bytes:
    parts = []
    for streamed in images:
        parts += [THUMBNAIL_RECORD_HEADER.pack(streamed.card.id, len(streamed.thumbnail)), streamed.thumbnail]
    return b"".join(parts)


def message_with_images(fields: dict, images: list[StreamedImage]) -> str:
    """json.dumps({**fields, "images": [META...]}) as send_json writes it, from the images' JSON made beforehand."""
    text = json.dumps({**fields, "images": []}, separators=(",", ":"))
    return f"{text[:-2]}{','.join(streamed.meta for streamed in images)}]}}"


def outgoing(fields: dict, images: list[StreamedImage]) -> Outgoing:
    return Outgoing(text=message_with_images(fields, images), images=len(images), thumbnails=thumbnails_frame(images))


@in_db_thread()
def load_batch(stream: Stream, *, viewer: Viewer, size: int, may_walk: bool) -> Outgoing:
    images = stream.next_batch(viewer=viewer, size=size, may_walk=may_walk)
    return outgoing({"type": "batch", **stream.describe()}, images)


# In a thread: the first search of a process loads WordNet's list of nouns (a second or so), which must not stall the event loop.
start_search = in_db_thread()(start_search_stream)
# Likewise the first palette stream of a process reads the palette index (seconds at 100,000 images).
start_palette = in_db_thread()(start_palette_stream)


@in_db_thread("read-ahead")
def read_ahead(stream: Stream, *, viewer: Viewer) -> object:
    return stream.read_ahead(viewer=viewer)


@in_db_thread()
def matching_live_from_database(stream: Stream, *, announced: list[dict]) -> list[int]:
    return stream.matching_live(announced=announced)


@in_db_thread()
def load_added(stream: Stream, *, viewer: Viewer, image_ids: list[int]) -> Outgoing | None:
    """The "added" message of the announced images this stream takes, if any."""
    images = realtime.take_added(stream, viewer=viewer, image_ids=image_ids)
    # What the stream now is too: a close match narrows a widened hue stream (HueStream.matching_live).
    return outgoing({"type": "added", **stream.describe()}, images) if images else None


@in_db_thread()
def load_updated(*, viewer: Viewer, image_ids: list[int]) -> str | None:
    """The "updated" message of the images among `image_ids` this viewer may see, if any."""
    images = realtime.load_images(image_ids=image_ids, viewer=viewer)
    return message_with_images({"type": "updated"}, images) if images else None


async def change_image(*, action: str, actor: User, image_id: int) -> None:
    change = services.soft_delete_image if action == "delete" else services.restore_image
    # Through Channels' own hop, not in_db_thread: the services announce changes with async_to_sync, which needs it.
    await database_sync_to_async(change, thread_sensitive=False, executor=db_executor("batches"))(
        actor=actor, image_id=image_id
    )


class ScrollerConsumer(LayerOutageTolerantConsumer):
    groups: tuple[str, ...] = (GALLERY_GROUP,)

    async def dispatch(self, message: dict) -> None:
        # Channels first hops to its single sync thread to close stale database connections
        # before every handler. All database work here runs through db_executor() pools, whose calls
        # close them themselves, and the hop cost about 0.5 ms of CPU and 1.7 ms of latency
        # per message (measured on a bare consumer sending the same frames).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict) -> None:
        self.groups = sessions.connection_groups(user=self.scope["user"], shared=GALLERY_GROUP)
        await super().websocket_connect(message)

    async def connect(self) -> None:
        self.user: Viewer = self.scope["user"]
        self.stream: Stream | None = None
        self.reading_ahead: asyncio.Future | None = None
        self.watched: int | None = None
        ensure_relay()
        await self.accept()
        authenticated = self.user.is_authenticated
        await self.send_json(
            {
                "type": "hello",
                "user": self.user.get_username() if authenticated else None,
                "can_upload": bool(authenticated and self.user.is_active),
            }
        )

    async def disconnect(self, code: int) -> None:
        await self.settle()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            request = parse_request(text_data)
        except BadRequest as error:
            await self.send_error(code="bad_request", message=str(error))
            return
        kind = request["type"]
        if kind == "subscribe":
            await self.settle()
            sent = self.stream.sent if self.stream else None
            if "asked" in request:
                self.stream = await start_palette(asked=request["asked"], sent=sent)
            elif request.get("q") is not None:
                self.stream = await start_search(text=request["q"], viewer=self.user, hue=request.get("hue"), sent=sent)
            else:
                self.stream = hue_stream.start_stream(hue=request["hue"], sent=sent)
            await self.send_batch(self.stream, size=realtime.FIRST_BATCH_SIZE)
        elif kind == "more":
            if self.stream is None:
                await self.send_error(code="bad_request", message="Subscribe to a hue or a search first.")
                return
            await self.send_batch(self.stream, size=realtime.NEXT_BATCH_SIZE)
        elif kind == "watch":
            await self.watch(image_id=request["id"])
        else:
            await self.change_image(action=kind, image_id=request["id"])

    async def send_batch(self, stream: Stream, *, size: int) -> None:
        await self.take_read_ahead(stream, wait=not stream.can_serve(size=size))
        may_walk = self.reading_ahead is None
        batch = await load_batch(stream, viewer=self.user, size=size, may_walk=may_walk)
        if not batch.images and not may_walk:
            # Every candidate the lookahead held was deleted meanwhile: walk on after all.
            await self.take_read_ahead(stream, wait=True)
            batch = await load_batch(stream, viewer=self.user, size=size, may_walk=True)
        await self.send_with_thumbnails(batch)
        if self.reading_ahead is None and stream.needs_read_ahead():
            # The walk for the next batches runs while the client looks at this one, on a
            # copy of the stream's walk: batches can still be served from the lookahead.
            self.reading_ahead = asyncio.ensure_future(read_ahead(stream, viewer=self.user))

    async def take_read_ahead(self, stream: Stream, *, wait: bool) -> None:
        """Add a finished read-ahead to the stream; with `wait`, wait for one still in flight."""
        if self.reading_ahead is None or not (wait or self.reading_ahead.done()):
            return
        reading, self.reading_ahead = self.reading_ahead, None
        stream.apply_read_ahead(await reading)

    async def settle(self) -> None:
        """Let a read-ahead in flight finish and drop it: the stream it was for is going away."""
        if self.reading_ahead is not None:
            reading, self.reading_ahead = self.reading_ahead, None
            await reading

    async def change_image(self, *, action: str, image_id: int) -> None:
        if self.user.is_authenticated:
            # The session may have ended since the handshake (logout, new password, deactivation).
            self.user = await sessions.current_user(self.scope)
        if not self.user.is_authenticated:
            await self.send_error(code="login_required", message=f"Log in to {action} images.", image_id=image_id)
            return
        try:
            await change_image(action=action, actor=self.user, image_id=image_id)
        except Image.DoesNotExist:
            await self.send_error(code="not_found", message="No such image.", image_id=image_id)
        except PermissionDenied:
            await self.send_error(
                code="forbidden", message=f"Only the owner or staff may {action} this image.", image_id=image_id
            )

    async def watch(self, *, image_id: int) -> None:
        updated = await load_updated(viewer=self.user, image_ids=[image_id])
        if updated is None:
            self.watched = None
            await self.send_error(code="not_found", message="No such image.", image_id=image_id)
            return
        self.watched = image_id
        await self.send(text_data=updated)

    async def session_ended(self, event: dict) -> None:
        await self.close(code=sessions.SESSION_ENDED)

    async def images_added(self, event: dict) -> None:
        if self.stream is None:
            return
        announced = realtime.visible_announced(
            viewer=self.user, announced=event["images"], published=event.get("published", False)
        )
        await self.send_matching(self.stream, announced=announced)

    async def send_matching(self, stream: Stream, *, announced: list[dict]) -> None:
        if not announced:
            return
        if stream.matches_by_index:
            image_ids = await matching_live_from_database(stream, announced=announced)
        else:
            image_ids = stream.matching_live(announced=announced)
        if not image_ids:
            return
        added = await load_added(stream, viewer=self.user, image_ids=image_ids)
        if added is not None:
            await self.send_with_thumbnails(added)

    async def images_hidden(self, event: dict) -> None:
        if self.stream is None:
            return
        image_ids = realtime.hidden_from(self.stream, viewer=self.user, hidden=event["images"])
        if image_ids:
            await self.send_json({"type": "removed", "ids": image_ids})

    async def images_removed(self, event: dict) -> None:
        if self.stream is None:
            return
        image_ids = realtime.sent_among(self.stream, image_ids=event["ids"])
        if image_ids:
            await self.send_json({"type": "removed", "ids": image_ids})

    async def images_updated(self, event: dict) -> None:
        if self.watched in event["ids"]:
            updated = await load_updated(viewer=self.user, image_ids=[self.watched])
            if updated is not None:
                await self.send(text_data=updated)
        if self.stream is None:
            return
        image_ids = realtime.sent_among(self.stream, image_ids=event["ids"])
        if image_ids:
            updated = await load_updated(viewer=self.user, image_ids=image_ids)
            if updated is not None:
                await self.send(text_data=updated)
        if self.stream.matches_by_index:
            # Labels or a description landed: searches the images now match receive them; whether this
            # viewer may see them is checked as they are loaded.
            shown = set(image_ids)
            await self.send_matching(
                self.stream, announced=[{"id": image_id} for image_id in event["ids"] if image_id not in shown]
            )

    async def send_with_thumbnails(self, message: Outgoing) -> None:
        await self.send(text_data=message.text)
        if message.images:
            await self.send(bytes_data=message.thumbnails)

    async def send_error(self, *, code: str, message: str, image_id: int | None = None) -> None:
        error: dict[str, str | int] = {"type": "error", "code": code, "message": message}
        if image_id is not None:
            error["id"] = image_id
        await self.send_json(error)

    async def send_json(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":")))
