"""Daphne hands an HTTP request's body to the application as it is read, instead of queueing all of it first.

Twisted receives a body into a temporary file (on disk past 100 KB), but Daphne then reads that file
to the end in one go and queues every chunk for the application before it runs (django/daphne#483):
a 1.5 GB upload sat in the server's memory whole, and the allocator kept most of it afterwards.
Here the application's input queue reads the next chunk from Twisted's file only when the
application asks for it, so a body is never in memory more than one chunk at a time.
"""

import asyncio
from functools import partial
from typing import Any, BinaryIO

BODY_CHUNK_BYTES = 256 * 1024


class _HandedOver:
    """What Daphne's own loop reads in place of the body file: nothing, so it queues one empty chunk."""

    def __init__(self, body: BinaryIO) -> None:
        self.body = body

    @property
    def closed(self) -> bool:
        return self.body.closed

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        # Twisted closes (and so deletes) the body file when the request finishes or the connection drops.
        self.body.close()


class BodyReadingQueue(asyncio.Queue):
    """An HTTP application's input queue: the body read from its file on demand, then Daphne's own messages."""

    def __init__(self, body: BinaryIO) -> None:
        super().__init__()
        self._body: BinaryIO | None = body

    def put_nowait(self, item: dict[str, Any]) -> None:
        if item.get("type") == "http.request":
            return  # Daphne's empty chunk: the body comes from the file.
        super().put_nowait(item)

    async def get(self) -> dict[str, Any]:
        if self._body is not None and not self._body.closed:
            chunk = self._body.read(BODY_CHUNK_BYTES)
            more_body = len(chunk) == BODY_CHUNK_BYTES
            if not more_body:
                self._body = None
            return {"type": "http.request", "body": chunk, "more_body": more_body}
        return await super().get()


def stream_request_bodies() -> None:
    try:
        from daphne.server import Server
    except ImportError:
        return
    if getattr(Server.create_application, "streams_bodies", False):
        return
    create_application = Server.create_application

    def create_application_reading_body_on_demand(server: Server, protocol: Any, scope: dict[str, Any]) -> Any:
        """Server.create_application, with the body-reading queue for HTTP requests."""
        if scope["type"] != "http":
            return create_application(server, protocol, scope)
        queue = BodyReadingQueue(protocol.content)
        protocol.content = _HandedOver(protocol.content)
        scope.setdefault("asgi", {"version": "3.0"})
        instance = server.application(scope=scope, receive=queue.get, send=partial(server.handle_reply, protocol))
        if protocol not in server.connections:
            return None
        server.connections[protocol]["application_instance"] = asyncio.ensure_future(instance)
        return queue

    create_application_reading_body_on_demand.streams_bodies = True  # type: ignore[attr-defined]
    Server.create_application = create_application_reading_body_on_demand
