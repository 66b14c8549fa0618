from collections.abc import Iterator

import pytest

from tests.s3 import Bucket, MotoServer, new_bucket, use_bucket


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto_server, settings, monkeypatch) -> Bucket:
    created = new_bucket(moto_server)
    use_bucket(server=moto_server, bucket=created, settings=settings, monkeypatch=monkeypatch)
    return created


@pytest.fixture
def outage_server() -> Iterator[MotoServer]:
    """A server of the test's own, which the test stops and starts again."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_bucket(outage_server, settings, monkeypatch) -> Bucket:
    created = new_bucket(outage_server)
    use_bucket(server=outage_server, bucket=created, settings=settings, monkeypatch=monkeypatch)
    settings.SCROLLER_INGEST_WORKERS = 1
    return created
