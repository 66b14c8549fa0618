import gc
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.cache import caches
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from gallery.image_cache import stored_parts_cache
from gallery.library.snapshot import forget_snapshot
from gallery.listing_cache import forget_listed_images
from gallery.palette_search.index import forget_palette_index
from gallery.search.postings import forget_posting_lists


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """A file, not memory, for the SQLite test database: the live Daphne server is another process and must see the same data."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(
            Path(tempfile.gettempdir()) / f"scroller-test-{os.getpid()}.sqlite3"
        )


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """Hashing strength is not under test, and the slow default would dominate the many logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def labels_model_dir(tmp_path_factory) -> Path:
    """One directory for the converted classifier per test session: it is built once, on first use, and shared."""
    return tmp_path_factory.mktemp("labels-models")


@pytest.fixture(autouse=True)
def labels_settings(settings, labels_model_dir) -> None:
    settings.SCROLLER_LABELS_MODEL_DIR = labels_model_dir
    settings.SCROLLER_LABELS_WEIGHTS = ""
    # Workers run inside the test process here, and reach consumers directly: the relay (tested on its own) would repeat them.
    settings.SCROLLER_LABELS_RELAY_SECONDS = 0


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Every test counts its own requests; the cache (Redis on the second backend) outlives tests."""
    settings.SCROLLER_RATE_LIMIT_SCOPE = uuid.uuid4().hex


@pytest.fixture(autouse=True)
def empty_image_cache():
    """Every test starts from an empty database, whose image ids an earlier test's cached images may have had."""
    stored_parts_cache().clear()
    forget_listed_images()


@pytest.fixture(autouse=True)
def fresh_library_snapshot():
    """Likewise for the per-process snapshot of the library, the mosaics made from it, the palette index and the
    search's posting lists."""
    forget_snapshot()
    forget_palette_index()
    forget_posting_lists()
    caches["mosaics"].clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="correct horse battery staple")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="correct horse battery staple")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="carol", password="correct horse battery staple", is_staff=True
    )


def token_client(user) -> Client:
    from accounts.services import create_api_token

    _, key = create_api_token(user=user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def alice_client(user) -> Client:
    return token_client(user)


@pytest.fixture
def bob_client(other_user) -> Client:
    return token_client(other_user)


@pytest.fixture
def staff_client(staff_user) -> Client:
    return token_client(staff_user)


def prepare_forked_server() -> None:
    """Runs in the forked server process, before it serves.

    Its inherited settings already name the test database on MariaDB, where channels'
    set_database_connection would prefix "test_" a second time (TEST NAME is unset there).
    Objects the test process used before the fork are only half copied: the channel layer
    (queues bound to the test's event loops) and asgiref's shared thread executor (its
    thread did not survive the fork), so the server gets fresh ones.
    """
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from django.conf import settings
    from django.db.backends.base.creation import TEST_DATABASE_PREFIX

    database = settings.DATABASES["default"]
    if database["TEST"].get("NAME"):
        database["NAME"] = database["TEST"]["NAME"]
    elif not database["NAME"].startswith(TEST_DATABASE_PREFIX):
        database["NAME"] = TEST_DATABASE_PREFIX + database["NAME"]
    channel_layers.backends.clear()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


_connections_held_across_fork: list = []


@contextmanager
def database_connections_held_across_fork() -> Iterator[None]:
    """Keep the test process's database connections alive in a child it forks meanwhile.

    A forked child deletes the state of every thread but the forking one, and with it their
    Django connections; deallocating a MySQLdb connection sends the server a QUIT over the very
    socket the parent still uses, and the parent's next query on it fails with "Lost connection
    to server during query". Referenced from here, the child's copies are never deallocated: the
    child ends without finalising (SIGTERM, or os._exit after its run).
    """
    # type(), not isinstance(): isinstance asks for __class__, which makes lazy objects evaluate themselves.
    _connections_held_across_fork.extend(
        wrapper.connection
        for wrapper in gc.get_objects()
        if issubclass(type(wrapper), BaseDatabaseWrapper) and wrapper.connection is not None
    )
    try:
        yield
    finally:
        _connections_held_across_fork.clear()


class DaphneServer:
    """The real ASGI application (HTTP and websockets) served by Daphne in a child process, on the test database."""

    def __init__(self) -> None:
        self.port: int | None = None
        self._process: DaphneProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        application = partial(make_application, static_wrapper=ASGIStaticFilesHandler)
        self._process = DaphneProcess("127.0.0.1", application, setup=prepare_forked_server, port=self.port)
        with database_connections_held_across_fork():
            self._process.start()
        while not self._process.ready.wait(timeout=1):
            if not self._process.is_alive():
                raise RuntimeError("the Daphne test server stopped before it was ready")
        self.port = self._process.port.value

    def stop(self) -> None:
        """SIGTERM: the server dies at once; its ingest pool workers notice and exit by themselves (gallery/worker.py)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port, as a deployment would."""
        self.stop()
        self.start()


@pytest.fixture
def daphne_server(transactional_db, media_root, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    server = DaphneServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RedisServer:
    """A redis-server of the test's own, on its own port, that the test may stop and start again (an outage)."""

    def __init__(self, *, port: int) -> None:
        self.port = port
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("the test's redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis(settings) -> Iterator[RedisServer]:
    """The channel layer on a Redis of the test's own; `own_redis.stop()` is a Redis outage."""
    server = RedisServer(port=free_port())
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": server.url, "socket_timeout": None}], "prefix": "scroller-outage"},
        }
    }
    try:
        yield server
    finally:
        server.stop()
