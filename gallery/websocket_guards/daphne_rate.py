"""Daphne applies each websocket's message rate as it reads the frames, before the application sees them.

Profiled under a flood (bench/ws_flood.py: one client sending 8,000-18,000 messages a second), 95% of
the server's event loop went to autobahn parsing the flooder's frames and Daphne queueing each one for
the consumer, which then dropped it: a check in the consumer came too late to spare anyone. Here a
message over the rate is dropped where autobahn hands it over, the first one answered by a
`rate_limited` error, and a client that keeps on is closed (1008).

A flooder that connects again at once would get a fresh burst and a fresh consumer each time (profiled:
half the server's time under a flood went to those), so its address is refused for COOL_OFF_SECONDS
after it was closed. Connected directly, its connections are closed as they are accepted, before a byte
of them is parsed (a refused websocket handshake still cost 2 ms of the event loop); behind a proxy
(--proxy-headers), whose address is everyone's, only its websocket handshakes are refused (429).
"""

import time
from typing import Any

from gallery.websocket_guards.limits import POLICY_VIOLATION, MessageRate, Verdict, message_rate

COOL_OFF_SECONDS = 10.0
# Addresses in their cool-off are few (flooders); past this many the expired ones are forgotten.
COOL_OFF_PRUNE_AT = 1024

_cooling: dict[str, float] = {}


def limit_messages_as_read() -> None:
    try:
        from autobahn.websocket.types import ConnectionDeny
        from daphne.http_protocol import HTTPFactory
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return
    if getattr(WebSocketProtocol.onMessage, "limits_rate", False):
        return
    deliver, connect, build = WebSocketProtocol.onMessage, WebSocketProtocol.onConnect, HTTPFactory.buildProtocol

    def build_unless_cooling(factory: Any, addr: Any) -> Any:
        if not factory.server.proxy_forwarded_address_header and cooling(str(getattr(addr, "host", ""))):
            return None  # Twisted closes the connection at once.
        return build(factory, addr)

    def on_connect_unless_cooling(protocol: Any, request: Any) -> Any:
        if cooling(client_address(protocol, request)):
            raise ConnectionDeny(429, "closed for sending too many messages: try again later")
        return connect(protocol, request)

    def on_message_within_rate(protocol: Any, payload: bytes, is_binary: bool) -> None:
        rate: MessageRate | None = getattr(protocol, "message_rate", None)
        if rate is None:
            rate = protocol.message_rate = message_rate()
        verdict = rate.judge()
        if verdict is Verdict.ADMIT:
            deliver(protocol, payload, is_binary)
        elif verdict is Verdict.WARN:
            protocol.sendMessage(rate.warning().encode())
        elif verdict is Verdict.CLOSE:
            cool_off(client_address(protocol, protocol.request))
            # sendCloseFrame, not sendClose: autobahn's sendClose refuses 1008, which a server may send. The
            # close handshake runs its course (autobahn drops a client that does not answer it): cutting the
            # connection now, with the flood still unread, would reset it, and the client could lose the 1008.
            protocol.sendCloseFrame(code=POLICY_VIOLATION)

    on_message_within_rate.limits_rate = True  # type: ignore[attr-defined]
    WebSocketProtocol.onMessage = on_message_within_rate
    WebSocketProtocol.onConnect = on_connect_unless_cooling
    HTTPFactory.buildProtocol = build_unless_cooling


def client_address(protocol: Any, request: Any) -> str:
    """The client's address as Daphne takes it: from the proxy's header when told to trust one (--proxy-headers)."""
    header = protocol.factory.server_class.proxy_forwarded_address_header
    forwarded = request.headers.get(header.lower(), "") if header else ""
    return forwarded.split(",")[0].strip() or str(protocol.transport.getPeer().host)


def cooling(address: str) -> bool:
    return _cooling.get(address, 0.0) > time.monotonic()


def cool_off(address: str) -> None:
    now = time.monotonic()
    if len(_cooling) >= COOL_OFF_PRUNE_AT:
        for expired in [address for address, until in _cooling.items() if until <= now]:
            del _cooling[expired]
    _cooling[address] = now + COOL_OFF_SECONDS
