"""A thin, typed client for the Scroller HTTP API and its OAuth 2.0 device flow (RFC 8628).

Network failures and overload answers (429, 502–504) are retried with exponential
backoff. Retrying an upload is safe: the server keeps one image per owner and
content hash, so a chunk that did arrive before the connection broke comes back
as "duplicate" instead of being stored twice.
"""

import mimetypes
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin

import requests
import urllib3.exceptions

from scroller_cli.credentials import Credentials

OAUTH_CLIENT_ID = "scroller-cli"
# The API only accepts access tokens with this scope (accounts/authentication.py).
OAUTH_SCOPE = "api"
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"

CONNECT_TIMEOUT_SECONDS = 10
# Ingesting a chunk (decoding, thumbnails, colour analysis) can keep the server busy for a while.
READ_TIMEOUT_SECONDS = 300
DEFAULT_RETRIES = 3
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
FIRST_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 30.0
DOWNLOAD_BLOCK_SIZE = 1 << 16
USER_AGENT = "scroller-cli"


class ScrollerError(Exception):
    """A failure with a message meant for the person at the terminal."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerUnreachable(ScrollerError):
    pass


class AuthenticationRequired(ScrollerError):
    pass


class ApiError(ScrollerError):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class OAuthError(ScrollerError):
    """An error answer from the OAuth endpoints; `code` is the RFC 6749/8628 error code.

    `interval` is the polling interval a slow_down answer asks for, if it names one.
    """

    def __init__(self, message: str, *, code: str, interval: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.interval = interval


@dataclass(frozen=True)
class UploadFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class UploadResult:
    filename: str
    status: str
    image_id: int | None
    sha256: str | None
    error: str | None


@dataclass(frozen=True)
class StoredImage:
    """One of the caller's own images, as the lookup endpoint reports it.

    `image_id` is None for bytes the caller deleted for good (purged), which the server still
    remembers by their hash so that they are not uploaded again by mistake.
    """

    image_id: int | None
    deleted: bool


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: int
    expires_in: int


class ScrollerClient:
    def __init__(
        self,
        *,
        server: str,
        credentials: Credentials | None,
        retries: int = DEFAULT_RETRIES,
        on_credentials_refreshed: Callable[[Credentials], None] | None = None,
    ) -> None:
        self.server = server
        self.retries = retries
        self._credentials = credentials
        self._on_credentials_refreshed = on_credentials_refreshed
        self._refresh_lock = threading.Lock()
        # requests.Session is not safe to share between threads; uploads run in several.
        self._thread_local = threading.local()

    @property
    def credentials(self) -> Credentials | None:
        """The credentials in use; a refreshed OAuth token replaces the one given at construction."""
        return self._credentials

    # The API

    def lookup(self, *, sha256s: Sequence[str]) -> dict[str, StoredImage]:
        response = self._request("POST", "/api/images/lookup/", json={"sha256": list(sha256s)})
        with unexpected_answer_from(response):
            body = response.json()
            held = {
                sha256: StoredImage(image_id=int(entry["id"]), deleted=bool(entry["deleted"]))
                for sha256, entry in body["images"].items()
            }
            # Servers from before purged hashes were remembered send no "purged".
            purged = {sha256: StoredImage(image_id=None, deleted=True) for sha256 in body.get("purged", [])}
            return purged | held

    def upload(
        self,
        *,
        files: Sequence[UploadFile],
        visibility: str | None,
        description: str | None = None,
        restore_deleted: bool = False,
    ) -> list[UploadResult]:
        fields = [("file", (file.filename, file.content, guess_media_type(file.filename))) for file in files]
        data = {"visibility": visibility} if visibility else {}
        if description:
            data["description"] = description
        if restore_deleted:
            data["restore_deleted"] = "1"
        response = self._request("POST", "/api/images/", files=fields, data=data)
        with unexpected_answer_from(response):
            return [
                UploadResult(
                    filename=result.get("filename", ""),
                    status=result["status"],
                    image_id=result.get("id"),
                    sha256=result.get("sha256"),
                    error=result.get("error"),
                )
                for result in response.json()["results"]
            ]

    def iter_images(
        self,
        *,
        mine: bool,
        include_deleted: bool = False,
        hue: int | None = None,
        query: str | None = None,
        page_size: int = 100,
    ) -> Iterator[dict]:
        """Image dicts page after page, following the server's `next` links; best match first with a `query`."""
        params: dict[str, str | int] = {"limit": page_size}
        if query is not None:
            params["q"] = query
        if mine:
            params["owner"] = "me"
        if include_deleted:
            params["include_deleted"] = 1
        if hue is not None:
            params["hue"] = hue
        url: str | None = "/api/images/"
        while url:
            response = self._request("GET", url, params=params)
            with unexpected_answer_from(response):
                page = response.json()
                results, url = list(page["results"]), page.get("next")
            yield from results
            # The next link carries every parameter itself.
            params = {}

    def download_original(self, *, image_id: int, destination: BinaryIO) -> None:
        response = self._request("GET", f"/api/images/{image_id}/original", stream=True)
        with response:
            try:
                for block in response.iter_content(DOWNLOAD_BLOCK_SIZE):
                    destination.write(block)
            # requests wraps a broken body stream in ChunkedEncodingError, which is no ConnectionError.
            except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
                raise ServerUnreachable(
                    f"download of image #{image_id} broke off: {describe_network_error(error)}"
                ) from error

    def delete_image(self, *, image_id: int) -> None:
        self._request("DELETE", f"/api/images/{image_id}/")

    def restore_image(self, *, image_id: int) -> None:
        self._request("POST", f"/api/images/{image_id}/restore/")

    def restore_images(self, *, image_ids: Sequence[int]) -> list[int]:
        """Bring many images back from the trash in one request; returns the ids that are now alive."""
        response = self._request("POST", "/api/images/restore/", json={"ids": list(image_ids)})
        with unexpected_answer_from(response):
            return [int(image_id) for image_id in response.json()["restored"]]

    def check_credentials(self) -> None:
        """Raise AuthenticationRequired unless the server accepts the credentials."""
        self._request("GET", "/api/images/", params={"owner": "me", "limit": 1})

    # OAuth 2.0 device flow

    def start_device_authorization(self) -> DeviceAuthorization:
        body = self._oauth_post("/o/device-authorization/", data={"client_id": OAUTH_CLIENT_ID, "scope": OAUTH_SCOPE})
        try:
            return DeviceAuthorization(
                device_code=body["device_code"],
                user_code=body["user_code"],
                verification_uri=body["verification_uri"],
                verification_uri_complete=body.get("verification_uri_complete"),
                interval=int(body.get("interval") or 5),
                expires_in=int(body["expires_in"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise OAuthError(
                f"incomplete device authorization answer from the server (missing {error})", code="invalid_response"
            ) from error

    def poll_device_token(self, *, device_code: str) -> Credentials:
        """The access token once the user has approved; OAuthError("authorization_pending", ...) until then."""
        body = self._oauth_post(
            "/o/token/",
            data={"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code, "client_id": OAUTH_CLIENT_ID},
        )
        if "access_token" not in body:
            raise OAuthError("the server's token answer has no access_token", code="invalid_response")
        return Credentials(scheme="Bearer", token=body["access_token"], refresh_token=body.get("refresh_token"))

    # Plumbing

    def _oauth_post(self, path: str, *, data: dict[str, str]) -> dict:
        response = self._send_with_retries("POST", self._url(path), credentials=None, data=data)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("error") or f"http_{response.status_code}")
        description = str(body.get("error_description") or "")
        if response.status_code == 404 and "error" not in body:
            description = (
                f"the server at {self.server} does not offer OAuth device login; use: scroller-cli login --token KEY"
            )
        interval = body.get("interval")
        raise OAuthError(
            f"{code}: {description}" if description else code,
            code=code,
            interval=interval if isinstance(interval, int) else None,
        )

    def _request(self, method: str, path_or_url: str, **kwargs) -> requests.Response:
        """Send with the caller's credentials; a 401 on an OAuth token triggers one refresh and a resend."""
        refreshed = False
        while True:
            credentials = self._credentials
            response = self._send_with_retries(method, self._url(path_or_url), credentials=credentials, **kwargs)
            if response.status_code != 401:
                break
            if refreshed or not self._refresh_after_rejection(rejected=credentials):
                raise AuthenticationRequired(
                    f"token expired or revoked — run scroller-cli login (server said: {error_message(response)})"
                    if credentials
                    else f"not logged in to {self.server} — run scroller-cli login"
                )
            refreshed = True
        if response.status_code >= 400:
            raise ApiError(
                f"the server answered {response.status_code}: {error_message(response)}", status=response.status_code
            )
        return response

    def _send_with_retries(
        self, method: str, url: str, *, credentials: Credentials | None, **kwargs
    ) -> requests.Response:
        headers = {"User-Agent": USER_AGENT}
        if credentials:
            headers["Authorization"] = credentials.authorization_header
        for attempt in range(self.retries + 1):
            failure: Exception | None = None
            response: requests.Response | None = None
            try:
                response = self._session().request(
                    method, url, headers=headers, timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS), **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                failure = error
            if response is not None and (response.status_code not in RETRYABLE_STATUSES or attempt == self.retries):
                return response
            if attempt < self.retries:
                time.sleep(retry_delay(attempt=attempt, response=response))
        raise ServerUnreachable(
            f"cannot reach the server at {self.server} ({describe_network_error(failure)}); "
            "is it running? Check --server or SCROLLER_URL"
        )

    def _refresh_after_rejection(self, *, rejected: Credentials | None) -> bool:
        """Swap a rejected OAuth access token for a fresh one; True if there is something new to try."""
        with self._refresh_lock:
            if self._credentials is not rejected:
                return True  # another thread already refreshed while this request was in flight
            if rejected is None or rejected.scheme != "Bearer" or not rejected.refresh_token:
                return False
            try:
                body = self._oauth_post(
                    "/o/token/",
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": rejected.refresh_token,
                        "client_id": OAUTH_CLIENT_ID,
                    },
                )
            except OAuthError:
                return False
            if "access_token" not in body:
                return False
            self._credentials = Credentials(
                scheme="Bearer",
                token=body["access_token"],
                refresh_token=body.get("refresh_token", rejected.refresh_token),
            )
            if self._on_credentials_refreshed:
                self._on_credentials_refreshed(self._credentials)
            return True

    def _session(self) -> requests.Session:
        session = getattr(self._thread_local, "session", None)
        if session is None:
            session = self._thread_local.session = requests.Session()
        return session

    def _url(self, path_or_url: str) -> str:
        return urljoin(self.server + "/", path_or_url)


@contextmanager
def unexpected_answer_from(response: requests.Response) -> Iterator[None]:
    """Turn a malformed answer (a proxy's error page, another program on the port) into a clear error."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ApiError(
            f"unexpected answer from {response.url} ({type(error).__name__}: {error}); is the server a Scroller?",
            status=response.status_code,
        ) from error


def retry_delay(*, attempt: int, response: requests.Response | None) -> float:
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    if retry_after.isdigit():
        return min(float(retry_after), MAX_RETRY_DELAY_SECONDS)
    return min(FIRST_RETRY_DELAY_SECONDS * 2**attempt, MAX_RETRY_DELAY_SECONDS)


def describe_network_error(error: BaseException | None) -> str:
    """The innermost OS reason ("connection refused") instead of urllib3's nested retry message."""
    if isinstance(error, requests.Timeout):
        return "timed out"
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NameResolutionError):
            return "host name not found"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return str(error)


def error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return response.reason or f"HTTP {response.status_code}"


def guess_media_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
