from collections.abc import Iterator

import pytest

from scroller.settings import s3_storage_options
from tests.s3 import Bucket, MotoServer, new_bucket, storage_environment


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def use_bucket(*, server: MotoServer, bucket: Bucket, settings, monkeypatch) -> None:
    """Configures the originals' storage exactly as the environment variables of a deployment would."""
    for name, value in storage_environment(server, bucket).items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options()},
    }


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
