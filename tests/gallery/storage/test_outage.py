"""The bucket going away in the middle of a bulk upload, against a real Daphne server and moto's real S3 server."""

import pytest
import requests

from gallery.models import Image
from tests.conftest import DaphneServer, token_client
from tests.gallery.images import solid

pytestmark = pytest.mark.django_db(transaction=True)


def send_chunk(session: requests.Session, url: str, *, first_color: int, count: int = 4) -> list[dict]:
    files = [("file", (f"photo-{first_color + i}.png", solid(color=(first_color + i, 80, 160)))) for i in range(count)]
    response = session.post(f"{url}/api/images/", files=files, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.fixture
def server(outage_server, outage_bucket, transactional_db, settings):
    """A Daphne server that does not hold the bucket's listening socket.

    A forked child inherits every open descriptor: had the S3 server been listening at the fork,
    the Daphne process would keep its socket open after the S3 server stopped, and requests to the
    "stopped" bucket would queue unanswered instead of being refused.
    """
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    outage_server.stop()
    daphne = DaphneServer()
    daphne.start()
    outage_server.start()
    yield daphne
    daphne.stop()


@pytest.fixture
def api_session(user) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = token_client(user).defaults["HTTP_AUTHORIZATION"]
    return session


def test_chunks_sent_while_the_bucket_is_down_are_refused_whole_and_land_once_it_is_back(
    outage_server, outage_bucket, server, api_session
):
    before = send_chunk(api_session, server.url, first_color=0)
    outage_server.stop()

    during = send_chunk(api_session, server.url, first_color=10)
    still_serving = api_session.get(f"{server.url}/api/images/", timeout=10)
    outage_server.start()
    retried = send_chunk(api_session, server.url, first_color=10)

    assert {result["status"] for result in before} == {"created"}
    assert {(result["status"], result["error"]) for result in during} == {("rejected", "storage unavailable")}
    assert still_serving.status_code == 200
    assert len(still_serving.json()["results"]) == 4
    assert {result["status"] for result in retried} == {"created"}
    assert sorted(outage_bucket.original_names()) == sorted(Image.objects.values_list("original", flat=True))
    assert Image.objects.count() == 8
