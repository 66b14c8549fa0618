"""Reading, writing, listing and deleting originals, the same calls whichever storage backend is configured.

Everything goes through Django's default storage; only what the storage API cannot say
(listing a bucket by pages, deleting a thousand objects in one request, streaming an
object's body, a presigned URL, a health probe) reaches the bucket through boto3.
Every failure to reach the storage becomes StorageUnavailable, so callers handle one error.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

# DeleteObjects takes at most this many keys per request; ListObjectsV2 answers at most this many per page.
S3_BATCH = 1000
COPY_CHUNK_BYTES = 1024 * 1024


class StorageUnavailable(Exception):
    """The storage could not be reached, or refused the operation."""


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    modified: datetime


@contextmanager
def _unavailable_on_failure(action: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except FileNotFoundError:
        raise
    except (OSError, BotoCoreError, ClientError) as failure:
        raise StorageUnavailable(f"storage unavailable: could not {action}: {failure}") from failure


def _bucket_storage() -> "S3Storage | None":
    # By module name first, so that local storage never imports boto3.
    if not default_storage.__class__.__module__.startswith("storages.backends.s3"):
        return None
    from storages.backends.s3 import S3Storage

    return default_storage if isinstance(default_storage, S3Storage) else None


def uses_bucket() -> bool:
    return _bucket_storage() is not None


def write(*, name: str, data: bytes | Path) -> None:
    """Stores `data` (bytes, or the file that holds them) under exactly `name`, whole or not at all.

    A bucket PUT is atomic: readers see the old object or the new one. On disk the file is written
    under a temporary name beside the final one and renamed over it, for the same promise.
    """
    with _unavailable_on_failure(f"write {name}"):
        if _bucket_storage() is None:
            _write_file_atomically(final=Path(default_storage.path(name)), source=data)
            return
        with _readable(data) as content:
            stored_as = default_storage.save(name, content)
    if stored_as != name:
        raise StorageUnavailable(f"storage unavailable: {name} was stored as {stored_as}")


@contextmanager
def _readable(source: bytes | Path) -> Iterator[File]:
    if isinstance(source, bytes):
        yield ContentFile(source)
        return
    with source.open("rb") as opened:
        yield File(opened)


def _write_file_atomically(*, final: Path, source: bytes | Path) -> None:
    # A process killed mid-write leaves only the temporary file, which the orphan sweep removes.
    final.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            if isinstance(source, bytes):
                file.write(source)
            else:
                with source.open("rb") as uploaded:
                    shutil.copyfileobj(uploaded, file, COPY_CHUNK_BYTES)
        # mkstemp makes files only their owner may read; storage's own writes follow FILE_UPLOAD_PERMISSIONS.
        os.chmod(temporary, settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        os.replace(temporary, final)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def delete(*, names: list[str]) -> None:
    """Missing names are not an error: deleting is what the caller wanted."""
    if not names:
        return
    bucket_storage = _bucket_storage()
    with _unavailable_on_failure(f"delete {len(names)} file(s)"):
        if bucket_storage is None:
            for name in names:
                default_storage.delete(name)
            return
        for start in range(0, len(names), S3_BATCH):
            keys = [{"Key": _key(bucket_storage, name)} for name in names[start : start + S3_BATCH]]
            answer = bucket_storage.bucket.delete_objects(Delete={"Objects": keys, "Quiet": True})
            if answer.get("Errors"):
                raise StorageUnavailable(f"storage unavailable: the bucket refused to delete {answer['Errors'][0]}")


def list_pages(*, directory: str, page_size: int = S3_BATCH) -> Iterator[list[StoredFile]]:
    """Every file under `directory`, a page at a time: one listing request per page of a bucket, one folder on disk."""
    bucket_storage = _bucket_storage()
    if bucket_storage is None:
        yield from _list_folder_pages(directory, page_size=page_size)
        return
    prefix = _key(bucket_storage, directory).rstrip("/") + "/"
    strip = len(_key(bucket_storage, "x")) - 1
    paginator = bucket_storage.connection.meta.client.get_paginator("list_objects_v2")
    with _unavailable_on_failure(f"list {directory}"):
        for page in paginator.paginate(
            Bucket=bucket_storage.bucket_name, Prefix=prefix, PaginationConfig={"PageSize": page_size}
        ):
            yield [StoredFile(entry["Key"][strip:], entry["LastModified"]) for entry in page.get("Contents", [])]


def _list_folder_pages(directory: str, *, page_size: int) -> Iterator[list[StoredFile]]:
    root = os.path.join(settings.MEDIA_ROOT, directory)
    for folder, _subfolders, files in os.walk(root):
        relative = os.path.relpath(folder, settings.MEDIA_ROOT).replace(os.sep, "/")
        page = []
        for file_name in files:
            try:
                modified = os.stat(os.path.join(folder, file_name)).st_mtime
            except FileNotFoundError:
                continue
            page.append(StoredFile(f"{relative}/{file_name}", datetime.fromtimestamp(modified, tz=UTC)))
            if len(page) == page_size:
                yield page
                page = []
        if page:
            yield page


def open_for_reading(*, name: str) -> Readable:
    """A stream of the file's bytes; from a bucket, the body of one GET, read as it arrives."""
    bucket_storage = _bucket_storage()
    with _unavailable_on_failure(f"read {name}"):
        if bucket_storage is None:
            file: IO[bytes] = default_storage.open(name, "rb")
            return file
        from botocore.exceptions import ClientError

        try:
            answer = bucket_storage.connection.meta.client.get_object(
                Bucket=bucket_storage.bucket_name, Key=_key(bucket_storage, name)
            )
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(name) from failure
            raise
        return answer["Body"]


def presigned_url(*, name: str, download_name: str, content_type: str) -> str | None:
    """A short-lived URL the client can fetch the bucket's object from directly; None when originals are local."""
    bucket_storage = _bucket_storage()
    if bucket_storage is None:
        return None
    from django.utils.http import content_disposition_header

    parameters = {
        "ResponseContentDisposition": content_disposition_header(as_attachment=False, filename=download_name),
        "ResponseContentType": content_type,
    }
    with _unavailable_on_failure(f"sign a URL for {name}"):
        url: str = bucket_storage.url(name, parameters=parameters)
    return url


def probe() -> None:
    """Raises StorageUnavailable unless the storage answers (for /healthz): one HEAD of the bucket, or a stat."""
    bucket_storage = _bucket_storage()
    with _unavailable_on_failure("reach the storage"):
        if bucket_storage is not None:
            bucket_storage.connection.meta.client.head_bucket(Bucket=bucket_storage.bucket_name)
        elif os.path.exists(settings.MEDIA_ROOT) and not os.access(settings.MEDIA_ROOT, os.W_OK):
            # A folder that does not exist yet is made by the first upload.
            raise PermissionError("the media folder is not writable")


def _key(bucket_storage: "S3Storage", name: str) -> str:
    from storages.utils import clean_name

    return bucket_storage._normalize_name(clean_name(name))
