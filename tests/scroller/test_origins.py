import pytest
from channels.testing import WebsocketCommunicator

from scroller.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SERVER = "127.0.0.1:8300"


async def handshake(*, origin: str, host: str = SERVER, scheme: str = "ws", extra: tuple = ()) -> bool:
    headers = [(b"host", host.encode()), (b"origin", origin.encode()), *extra]
    communicator = WebsocketCommunicator(application, "/ws/scroller/", headers=headers)
    communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect(timeout=10)
    await communicator.disconnect()
    return connected


@pytest.fixture(autouse=True)
def site_hosts(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "[::1]", "localhost", "photos.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://photos.example.org", "https://*.example.net"]


async def test_the_sites_own_origin_may_open_the_socket():
    assert await handshake(origin=f"http://{SERVER}")


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",
        "https://127.0.0.1",
        "http://[::1]:8300",
        "https://127.0.0.1:8300",
        "http://evil.example",
    ],
)
async def test_another_port_scheme_or_host_is_refused(origin):
    assert not await handshake(origin=origin)


async def test_a_handshake_without_an_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/scroller/", headers=[(b"host", SERVER.encode())])
    connected, _ = await communicator.connect(timeout=10)

    assert not connected


async def test_a_host_outside_allowed_hosts_is_not_its_own_origin():
    assert not await handshake(origin="http://attacker.example:8300", host="attacker.example:8300")


async def test_trusted_origins_may_open_the_socket_from_behind_a_proxy():
    assert await handshake(origin="https://photos.example.org", host="127.0.0.1:8000")
    assert await handshake(origin="https://app.example.net", host="127.0.0.1:8000")
    assert not await handshake(origin="http://app.example.net", host="127.0.0.1:8000")


async def test_a_secure_socket_has_an_https_origin(settings):
    assert await handshake(origin="https://photos.example.org:8443", host="photos.example.org:8443", scheme="wss")
    assert not await handshake(origin="http://photos.example.org:8443", host="photos.example.org:8443", scheme="wss")
