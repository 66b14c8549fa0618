"""A real S3 HTTP server for tests: moto's standalone server on a free loopback port, reached by boto3 over HTTP."""

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from scroller.settings import s3_storage_options

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "scroller-test", "AWS_SECRET_ACCESS_KEY": "scroller-test-secret"}
_bucket_numbers = itertools.count()


class MotoServer:
    """Start, stop and start again on the same port: what a storage outage looks like to its clients."""

    def __init__(self) -> None:
        self.port = 0
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # werkzeug logs every request at INFO, which would bury a failing test's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        """Refuses connections afterwards: ThreadedMotoServer.stop ends its loop but leaves the socket listening."""
        if self._server is not None:
            self._server.stop()
            self._server._server.server_close()  # type: ignore[union-attr]
            self._server = None


@dataclass
class Bucket:
    name: str
    prefix: str
    client: Any

    def all_keys(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))

    def original_names(self) -> list[str]:
        """The keys under the prefix, as the storage names them (without the prefix)."""
        return [key.removeprefix(f"{self.prefix}/") for key in self.all_keys() if key.startswith(f"{self.prefix}/")]

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=f"{self.prefix}/{name}")["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)


def new_bucket(server: MotoServer, *, prefix: str = "scroller") -> Bucket:
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    name = f"scroller-test-{next(_bucket_numbers)}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return Bucket(name=name, prefix=prefix, client=client)


def storage_environment(server: MotoServer, bucket: Bucket) -> dict[str, str]:
    """What an operator would set to put the originals in this bucket (see the README's configuration table)."""
    return {
        "SCROLLER_S3_BUCKET": bucket.name,
        "SCROLLER_S3_PREFIX": bucket.prefix,
        "SCROLLER_S3_REGION": REGION,
        "SCROLLER_S3_ENDPOINT_URL": server.endpoint_url,
        # A stopped server refuses connections at once; one quick retry keeps the outage test short.
        "SCROLLER_S3_ATTEMPTS": "2",
        "SCROLLER_S3_TIMEOUT_SECONDS": "2",
        **CREDENTIALS,
    }


def use_bucket(*, server: MotoServer, bucket: Bucket, settings, monkeypatch) -> None:
    """Configures the originals' storage exactly as the environment variables of a deployment would."""
    for name, value in storage_environment(server, bucket).items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options()},
    }
