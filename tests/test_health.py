"""GET /healthz against the real dependencies: the test database, the configured channel layer, moto's S3 server."""

import socket

import pytest

from tests.s3 import MotoServer, new_bucket, use_bucket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def patient_probes(settings) -> None:
    """A first probe of a bucket makes boto3's client, which took over 3 s on this machine at a load of 28."""
    settings.SCROLLER_HEALTHZ_TIMEOUT_SECONDS = 60


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_answers_200_with_each_dependency_and_no_session(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "down": [],
        "database": "ok",
        "channel_layer": "ok",
        "storage": "ok",
        "task_queue": "ok",
    }
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies


def test_healthz_checks_a_bucket_and_answers_503_naming_it_once_it_is_gone(settings, monkeypatch, client):
    server = MotoServer()
    server.start()
    use_bucket(server=server, bucket=new_bucket(server), settings=settings, monkeypatch=monkeypatch)
    while_up = client.get("/healthz")

    server.stop()
    while_down = client.get("/healthz")

    assert (while_up.status_code, while_up.json()["storage"]) == (200, "ok")
    assert while_down.status_code == 503
    assert while_down.json()["down"] == ["storage"]
    assert while_down.json()["status"] == "down"


def test_healthz_answers_503_naming_a_redis_channel_layer_that_does_not_answer(settings, client):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{closed_port()}/0"}]},
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["channel_layer"]
    assert b"127.0.0.1" not in response.content


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
