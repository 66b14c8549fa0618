"""What one websocket client may send: how large a message, and how many per second.

Client messages are a few dozen bytes (subscribe, more, delete, restore). A larger one is refused
before it is parsed; a client that sends faster than the rate is told so (`rate_limited`) and its
messages are dropped unread, and one that keeps on is disconnected, so that it cannot take the
server's time from everyone else. The rate is applied as Daphne reads the frames
(gallery.websocket_guards.daphne_rate), before a message costs the application anything.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from django.conf import settings

MAX_MESSAGE_CHARS = 4096
# Closing codes (RFC 6455): the client broke the server's policy.
POLICY_VIOLATION = 1008


class Verdict(Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first message over the rate: drop it and tell the client
    DROP = "drop"  # dropped silently: the client was told already
    CLOSE = "close"  # still flooding after the warning


@dataclass
class MessageRate:
    """A token bucket per connection: `per_second` messages on average, bursts of `burst`.

    After the warning, `patience` more dropped messages close the connection. A client starts over
    only once it has sent slowly enough for its whole burst to come back: a message admitted now and
    then, as the bucket refills, does not excuse a flood.
    """

    per_second: float
    burst: float
    patience: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)
    dropped: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.updated = self.clock()

    def judge(self) -> Verdict:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= self.burst:
            self.dropped = 0
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.ADMIT
        self.dropped += 1
        if self.dropped == 1:
            return Verdict.WARN
        return Verdict.CLOSE if self.dropped > self.patience else Verdict.DROP

    def warning(self) -> str:
        """The `rate_limited` error a client gets once it goes over the rate, as JSON text."""
        message = f"Too many messages: at most {self.per_second:g} a second. Slow down or be disconnected."
        return json.dumps({"type": "error", "code": "rate_limited", "message": message}, separators=(",", ":"))


def message_rate() -> MessageRate:
    per_second = settings.SCROLLER_WS_MESSAGES_PER_SECOND
    return MessageRate(per_second=per_second, burst=2 * per_second, patience=int(2 * per_second))
