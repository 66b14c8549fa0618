"""Servers in several processes sharing the test database and a Redis channel layer, as `./dev.sh serve` runs them."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# The SQLite run has no REDIS_URL; several processes need Redis all the same, under a prefix of their own.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"


def channel_prefix() -> str:
    return f"scroller-test-{uuid.uuid4().hex[:12]}"


def redis_channel_layers(*, prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}], "prefix": prefix},
        }
    }


def database_url_of_the_tests() -> str:
    """The test database (already created by pytest-django) as a DATABASE_URL for a server started as a command."""
    from django.db import connection

    database = connection.settings_dict
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    return f"mysql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], T | None], *, timeout: float = 60) -> T:
    """Polls a condition of another process, which sends no event this process could await."""
    deadline = time.monotonic() + timeout
    while (value := condition()) is None or value is False:
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
    return value


# Starting Daphne (importing Django, the app, numpy) took 50 s on this machine at a load of 28.
START_TIMEOUT_SECONDS = 300


def healthy(url: str) -> bool:
    """Connections wait in the shared socket's queue until a child has started and accepts them."""
    try:
        return requests.get(f"{url}/healthz", timeout=30).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def daphne_children(supervisor: subprocess.Popen) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def wait_for_children(supervisor: subprocess.Popen, *, count: int, other_than: set[int] | None = None) -> set[int]:
    """The supervisor's Daphne children once there are `count` of them (and they are not `other_than`)."""

    def settled() -> set[int] | None:
        children = daphne_children(supervisor)
        return children if len(children) == count and children != other_than else None

    return wait_until(settled, timeout=START_TIMEOUT_SECONDS)


@contextmanager
def serve_processes(*, count: int, media_root: Path, log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m scroller.serve --processes count` on the test database and Redis; yields it and its URL."""
    port = free_port()
    environment = os.environ | {
        "DATABASE_URL": database_url_of_the_tests(),
        "REDIS_URL": REDIS_URL,
        "SCROLLER_CHANNEL_PREFIX": channel_prefix(),
        "SCROLLER_MEDIA_ROOT": str(media_root),
        "SCROLLER_INGEST_WORKERS": "1",
    }
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scroller.serve", "--processes", str(count), "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # its children die with it (PR_SET_PDEATHSIG)
            process.wait()
            raise AssertionError(
                f"scroller.serve was still running 30 s after SIGTERM; its log:\n{log.read_text()}"
            ) from None
