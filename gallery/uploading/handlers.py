"""A Django upload handler that streams every file of a request to its own temporary file, hashing it on the way.

No uploaded file is ever held in memory whole: the multipart parser hands over chunks of 64 KiB, each
is written and hashed, and the view gets a file on disk with its SHA-256 already known. Bytes past the
per-file limit are counted but not kept (the file is refused from its size, unread); bytes past the
per-request limit stop the request with a 413.
"""

import hashlib
import tempfile
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, multipartparser

# Django refuses a whole multipart request when one part's headers exceed 1 KiB, which a file name
# of 1,000 characters (or 600 × "é", percent-encoded) does; names are trimmed when stored anyway.
# The bound still stops a part whose headers never end.
MULTIPART_PART_HEADER_LIMIT = 16 * 1024


class RequestTooLarge(Exception):
    """The request's body is over SCROLLER_MAX_REQUEST_BYTES; the API answers 413 with this message."""

    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"the request is over the limit of {limit / 1_000_000:.1f} MB: send fewer or smaller files per request"
        )


class HashedUploadedFile(TemporaryUploadedFile):
    """An uploaded file on disk with its SHA-256, or, when over the per-file limit, only its true size."""

    def __init__(
        self, *, name: str | None, content_type: str | None, charset: str | None, extra: dict[str, Any] | None
    ) -> None:
        # Not TemporaryUploadedFile's constructor: it puts the client's extension in the temporary
        # name, and an extension hundreds of characters long makes the file system refuse it.
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 (closed with the request)
        UploadedFile.__init__(self, file, name, content_type, 0, charset, extra)
        self.sha256 = ""


class HashingUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.file_limit = settings.SCROLLER_MAX_UPLOAD_BYTES
        self.request_limit = settings.SCROLLER_MAX_REQUEST_BYTES
        self.request_bytes = 0

    def handle_raw_input(
        self, input_data: Any, META: dict[str, Any], content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        if content_length > self.request_limit:
            raise RequestTooLarge(limit=self.request_limit)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file = HashedUploadedFile(
            name=self.file_name, content_type=self.content_type, charset=self.charset, extra=self.content_type_extra
        )
        self.digest = hashlib.sha256()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.request_bytes += len(raw_data)
        if self.request_bytes > self.request_limit:
            # A chunked body declares no length up front, so the bound is also kept as bytes arrive.
            raise RequestTooLarge(limit=self.request_limit)
        self.received += len(raw_data)
        if self.received <= self.file_limit:
            self.file.write(raw_data)
            self.digest.update(raw_data)

    def file_complete(self, file_size: int) -> HashedUploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        if file_size <= self.file_limit:
            self.file.sha256 = self.digest.hexdigest()
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()


def allow_long_part_headers() -> None:
    multipartparser.MAX_TOTAL_HEADER_SIZE = MULTIPART_PART_HEADER_LIMIT  # type: ignore[attr-defined]
