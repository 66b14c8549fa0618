import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from gallery.models import Image
from gallery.websocket_guards.sessions import SESSION_ENDED
from scroller.asgi import application
from tests.gallery.realtime.test_consumer import WAIT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("channel_layer")]


@pytest_asyncio.fixture
async def logged_in(user):
    """A browser session of alice's (its test client) and a scroller socket opened with its cookie."""
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/scroller/", headers=headers)
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    assert (await communicator.receive_json_from(timeout=WAIT))["user"] == "alice"
    yield client, communicator
    await communicator.disconnect(timeout=WAIT)


async def test_logging_out_closes_the_users_open_sockets(logged_in):
    client, communicator = logged_in

    await database_sync_to_async(client.post)("/accounts/logout/")

    assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": SESSION_ENDED}


async def test_a_password_change_closes_the_users_open_sockets(logged_in, user):
    _, communicator = logged_in

    user.set_password("a new and different passphrase")
    await database_sync_to_async(user.save)()

    assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": SESSION_ENDED}


async def test_deactivating_the_account_closes_its_open_sockets(logged_in, user):
    _, communicator = logged_in

    user.is_active = False
    await database_sync_to_async(user.save)()

    assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": SESSION_ENDED}


async def test_a_write_on_a_socket_whose_session_ended_is_refused(logged_in, make):
    _, communicator = logged_in
    [image_id] = await make(1)
    await database_sync_to_async(lambda: Session.objects.all().delete())()  # expired, or flushed elsewhere

    await communicator.send_json_to({"type": "delete", "id": image_id})
    error = await communicator.receive_json_from(timeout=WAIT)

    assert error["code"] == "login_required"
    assert await database_sync_to_async(lambda: Image.objects.get(pk=image_id).deleted_at)() is None
