"""What each scroller-cli command does; __main__ parses arguments and turns errors into exit codes.

Uploads go in four steps: find image files, hash them locally, ask the server
which hashes it already holds, and send only the rest, in chunks of a few files
with a bounded number of chunks in flight. Because the server is asked first, a
run that was interrupted and is started again sends nothing that already arrived.
Local files are only ever read; `sync --download` only creates new files.
"""

import itertools
import os
import re
import secrets
import signal
import sys
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urljoin

from tqdm import tqdm

from scroller_cli.client import (
    ApiError,
    AuthenticationRequired,
    OAuthError,
    ScrollerClient,
    ScrollerError,
    StoredImage,
    UploadFile,
    UploadResult,
)
from scroller_cli.credentials import Credentials, save_credentials
from scroller_cli.scan import HashedFile, describe_os_error, find_files, hash_file, is_image_name
from scroller_cli.sync_state import load_synced_hashes, save_synced_hashes

CHUNK_MAX_FILES = 16
# The multipart body of a chunk is built in memory, so a chunk is also bounded by size.
CHUNK_MAX_BYTES = 64 * 1024 * 1024
LOOKUP_BATCH_SIZE = 500
INTERRUPT_CHECK_SECONDS = 0.2
DEFAULT_JOBS = 4
NOT_IMAGES_SHOWN = 5
PARTIAL_DOWNLOAD_SUFFIX = ".scroller-part"
# Leaves room under the usual 255-byte limit for the partial-download prefix and suffix.
MAX_FILE_NAME_BYTES = 200
# RFC 8628 §3.5: on slow_down, poll at least this much less often from then on.
SLOW_DOWN_STEP_SECONDS = 5
FORMAT_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


class Interrupted(ScrollerError):
    """Ctrl-C during a transfer: the run stops, but still reports what it did."""

    def __init__(self) -> None:
        super().__init__("interrupted")


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    DELETED_ON_SERVER = "deleted on server"
    RESTORED = "restored"
    DOWNLOADED = "downloaded"
    REJECTED = "rejected"
    FAILED = "failed"
    NOT_SENT = "not sent"


SUMMARY_LABELS = {
    Outcome.CREATED: "created",
    Outcome.DUPLICATE: "duplicate",
    Outcome.SKIPPED: "skipped (already on server)",
    Outcome.DELETED_ON_SERVER: "deleted on the server (not sent)",
    Outcome.RESTORED: "restored from the server's trash",
    Outcome.DOWNLOADED: "downloaded",
    Outcome.REJECTED: "rejected",
    Outcome.FAILED: "failed",
    Outcome.NOT_SENT: "not sent (stopped early; run again to resume)",
}
ALWAYS_SUMMARISED = frozenset({Outcome.CREATED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.REJECTED, Outcome.FAILED})
# Outcomes that make the command exit non-zero: the user has to look at these files.
PROBLEM_OUTCOMES = frozenset({Outcome.REJECTED, Outcome.FAILED, Outcome.NOT_SENT})
# Outcomes listed file by file in the summary, with their reasons.
LISTED_OUTCOMES = (Outcome.DELETED_ON_SERVER, Outcome.REJECTED, Outcome.FAILED)
# Outcomes whose content the server holds (or held) under a known id: what `sync` remembers.
SYNCED_OUTCOMES = frozenset(
    {
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.SKIPPED,
        Outcome.DELETED_ON_SERVER,
        Outcome.RESTORED,
        Outcome.DOWNLOADED,
    }
)
RESTORE_BATCH_SIZE = 1000


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    outcome: Outcome
    sha256: str | None = None
    image_id: int | None = None
    reason: str = ""


@dataclass
class Report:
    verbose: bool = False
    outcomes: list[FileOutcome] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    files_sent: int = 0
    bytes_sent: int = 0
    stopped_by: ScrollerError | None = None

    def add(self, *items: FileOutcome) -> None:
        """Record outcomes; in verbose mode each file's line appears as soon as its fate is known."""
        self.outcomes.extend(items)
        if self.verbose:
            for item in items:
                if item.outcome not in LISTED_OUTCOMES:
                    write_line(describe_outcome(item))

    @property
    def has_problems(self) -> bool:
        return self.stopped_by is not None or any(item.outcome in PROBLEM_OUTCOMES for item in self.outcomes)


@dataclass(frozen=True)
class Options:
    """How the file-moving commands run; the same for upload and sync."""

    jobs: int = DEFAULT_JOBS
    progress: bool = True
    verbose: bool = False


# upload


def upload(
    *,
    client: ScrollerClient,
    paths: Sequence[Path],
    visibility: str | None,
    options: Options,
    description: str | None = None,
    restore_deleted: bool = False,
) -> Report:
    """Send what the server lacks. Files deleted on the server are reported and left deleted,
    unless `restore_deleted`: then those in its trash are restored and purged ones sent anew."""
    report = Report(verbose=options.verbose)
    candidates = collect_candidates(client=client, paths=paths, report=report, options=options)
    to_send = []
    to_restore = []
    for file, stored in candidates:
        if stored is None or (restore_deleted and stored.deleted and stored.image_id is None):
            to_send.append(file)
        elif not stored.deleted:
            report.add(already_stored(file=file, stored=stored))
        elif restore_deleted:
            to_restore.append((file, stored))
        else:
            report.add(deleted_on_server(file=file, stored=stored))
    restore_from_trash(client=client, items=to_restore, report=report)
    send_files(
        client=client,
        files=to_send,
        visibility=visibility,
        description=description,
        report=report,
        options=options,
        restore_deleted=restore_deleted,
    )
    return report


def restore_from_trash(*, client: ScrollerClient, items: list[tuple[HashedFile, StoredImage]], report: Report) -> None:
    for start in range(0, len(items), RESTORE_BATCH_SIZE):
        batch = items[start : start + RESTORE_BATCH_SIZE]
        try:
            restored = set(client.restore_images(image_ids=[stored.image_id for _, stored in batch if stored.image_id]))
        except ApiError as error:
            report.add(
                *(FileOutcome(path=file.path, outcome=Outcome.FAILED, reason=error.message) for file, _ in batch)
            )
            continue
        report.add(
            *(
                FileOutcome(path=file.path, outcome=Outcome.RESTORED, sha256=file.sha256, image_id=stored.image_id)
                if stored.image_id in restored
                else FileOutcome(
                    path=file.path,
                    outcome=Outcome.FAILED,
                    sha256=file.sha256,
                    reason=f"image #{stored.image_id} could not be restored",
                )
                for file, stored in batch
            )
        )


def collect_candidates(
    *, client: ScrollerClient, paths: Sequence[Path], report: Report, options: Options
) -> list[tuple[HashedFile, StoredImage | None]]:
    """Each distinct local image with what the server already holds of it; problems go straight into `report`."""
    scan = find_files(paths=paths)
    report.not_images.extend(scan.not_images)
    report.add(*(FileOutcome(path=item.path, outcome=Outcome.FAILED, reason=item.reason) for item in scan.unreadable))
    hashed = hash_files(paths=scan.images, report=report, options=options)
    unique = drop_local_duplicates(files=hashed, report=report)
    stored = lookup_stored(client=client, sha256s=[file.sha256 for file in unique])
    return [(file, stored.get(file.sha256)) for file in unique]


def hash_files(*, paths: list[Path], report: Report, options: Options) -> list[HashedFile]:
    hashed = []
    with (
        ThreadPoolExecutor(max_workers=options.jobs) as pool,
        progress_bar(options=options, total=len(paths), unit="file", desc="hashing") as bar,
    ):
        # Hashing reads the disk; hashlib releases the GIL, so threads overlap both.
        futures = [(path, pool.submit(hash_file, path=path)) for path in paths]
        try:
            for path, future in futures:
                try:
                    hashed.append(future.result())
                except OSError as error:
                    report.add(FileOutcome(path=path, outcome=Outcome.FAILED, reason=describe_os_error(error)))
                bar.update(1)
        except KeyboardInterrupt:
            pool.shutdown(cancel_futures=True)
            raise
    return hashed


def drop_local_duplicates(*, files: list[HashedFile], report: Report) -> list[HashedFile]:
    first_with_hash: dict[str, HashedFile] = {}
    for file in files:
        if original := first_with_hash.get(file.sha256):
            report.add(
                FileOutcome(
                    path=file.path,
                    outcome=Outcome.DUPLICATE,
                    sha256=file.sha256,
                    reason=f"same content as {original.path}",
                )
            )
        else:
            first_with_hash[file.sha256] = file
    return list(first_with_hash.values())


def lookup_stored(*, client: ScrollerClient, sha256s: list[str]) -> dict[str, StoredImage]:
    stored: dict[str, StoredImage] = {}
    for start in range(0, len(sha256s), LOOKUP_BATCH_SIZE):
        stored |= client.lookup(sha256s=sha256s[start : start + LOOKUP_BATCH_SIZE])
    return stored


def already_stored(*, file: HashedFile, stored: StoredImage) -> FileOutcome:
    return FileOutcome(path=file.path, outcome=Outcome.SKIPPED, sha256=file.sha256, image_id=stored.image_id)


def deleted_on_server(*, file: HashedFile, stored: StoredImage) -> FileOutcome:
    # Not sent: uploading the bytes again would silently undo a deletion the owner made on purpose.
    return FileOutcome(
        path=file.path,
        outcome=Outcome.DELETED_ON_SERVER,
        sha256=file.sha256,
        image_id=stored.image_id,
        reason=deleted_reason(image_id=stored.image_id),
    )


def deleted_reason(*, image_id: int | None) -> str:
    if image_id is None:
        return "deleted for good on the server; send it again with: scroller-cli upload --restore-deleted PATH"
    return (
        f"in the server's trash; bring it back with: scroller-cli restore {image_id} "
        "(or scroller-cli upload --restore-deleted PATH)"
    )


def send_files(
    *,
    client: ScrollerClient,
    files: list[HashedFile],
    visibility: str | None,
    report: Report,
    options: Options,
    description: str | None = None,
    restore_deleted: bool = False,
) -> None:
    """Upload `files` in chunks, at most `options.jobs` chunks at a time.

    A lost connection, a rejected token or Ctrl-C stops the run: chunks already
    on the wire are finished and counted, the others are reported as not sent,
    and running the command again resumes.
    """
    chunks = iter(list(split_into_chunks(files=files)))
    pending: dict[Future, list[HashedFile]] = {}

    def send(chunk: list[HashedFile]) -> Future:
        return pool.submit(
            send_chunk,
            client=client,
            chunk=chunk,
            visibility=visibility,
            description=description,
            restore_deleted=restore_deleted,
        )

    with (
        ThreadPoolExecutor(max_workers=options.jobs) as pool,
        progress_bar(options=options, total=sum(file.size for file in files), unit="B", desc="uploading") as bar,
        ctrl_c_as_flag() as interrupted,
    ):
        # Chunks are submitted only as others finish, so memory holds at most `jobs` chunk bodies.
        for chunk in itertools.islice(chunks, options.jobs):
            pending[send(chunk)] = chunk
        while pending:
            # The timeout only bounds how long a Ctrl-C waits to be noticed.
            done, _ = wait(pending, timeout=INTERRUPT_CHECK_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                collect_chunk(future=future, chunk=chunk, report=report)
                bar.update(sum(file.size for file in chunk))
            if interrupted.is_set() and report.stopped_by is None:
                report.stopped_by = Interrupted()
                if pending:
                    print(f"interrupted: waiting for the {len(pending)} chunk(s) already being sent", file=sys.stderr)
            if report.stopped_by is None:
                for chunk in itertools.islice(chunks, len(done)):
                    pending[send(chunk)] = chunk
    for chunk in chunks:
        mark_not_sent(chunk=chunk, report=report)


@contextmanager
def ctrl_c_as_flag() -> Iterator[threading.Event]:
    """Ctrl-C sets a flag instead of raising KeyboardInterrupt at whatever line is running,
    so the bookkeeping of a finished chunk is never left half done. A second Ctrl-C raises as usual."""
    interrupted = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    # Handlers can only be set from the main thread, and an ignored Ctrl-C (a background job) stays ignored.
    if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
        yield interrupted
        return

    def on_ctrl_c(signal_number: int, frame: object) -> None:
        interrupted.set()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def split_into_chunks(*, files: list[HashedFile]) -> Iterator[list[HashedFile]]:
    chunk: list[HashedFile] = []
    chunk_bytes = 0
    for file in files:
        if chunk and (len(chunk) == CHUNK_MAX_FILES or chunk_bytes + file.size > CHUNK_MAX_BYTES):
            yield chunk
            chunk, chunk_bytes = [], 0
        chunk.append(file)
        chunk_bytes += file.size
    if chunk:
        yield chunk


@dataclass
class ChunkResult:
    outcomes: list[FileOutcome]
    files_sent: int
    bytes_sent: int


def send_chunk(
    *,
    client: ScrollerClient,
    chunk: list[HashedFile],
    visibility: str | None,
    description: str | None = None,
    restore_deleted: bool = False,
) -> ChunkResult:
    outcomes = []
    readable: list[tuple[HashedFile, UploadFile]] = []
    for file in chunk:
        try:
            content = file.path.read_bytes()
        except OSError as error:
            outcomes.append(
                FileOutcome(path=file.path, outcome=Outcome.FAILED, sha256=file.sha256, reason=describe_os_error(error))
            )
            continue
        readable.append((file, UploadFile(filename=file.path.name, content=content)))
    if not readable:
        return ChunkResult(outcomes=outcomes, files_sent=0, bytes_sent=0)
    upload_files = [upload_file for _, upload_file in readable]
    try:
        results = client.upload(
            files=upload_files, visibility=visibility, description=description, restore_deleted=restore_deleted
        )
    except ApiError as error:
        outcomes.extend(
            FileOutcome(path=file.path, outcome=Outcome.FAILED, sha256=file.sha256, reason=error.message)
            for file, _ in readable
        )
        return ChunkResult(outcomes=outcomes, files_sent=0, bytes_sent=0)
    outcomes.extend(
        outcome_of_result(file=file, result=result) for (file, _), result in zip(readable, results, strict=False)
    )
    # The server answers for every file it received; a short answer must not pass for success.
    outcomes.extend(
        FileOutcome(
            path=file.path, outcome=Outcome.FAILED, sha256=file.sha256, reason="the server sent no result for this file"
        )
        for file, _ in readable[len(results) :]
    )
    return ChunkResult(
        outcomes=outcomes, files_sent=len(upload_files), bytes_sent=sum(len(file.content) for file in upload_files)
    )


def outcome_of_result(*, file: HashedFile, result: UploadResult) -> FileOutcome:
    # The server's hash wins: it is what was stored, even if the file changed after it was hashed here.
    sha256 = result.sha256 or file.sha256
    if result.status == "created":
        return FileOutcome(path=file.path, outcome=Outcome.CREATED, sha256=sha256, image_id=result.image_id)
    if result.status == "duplicate":
        return FileOutcome(
            path=file.path,
            outcome=Outcome.DUPLICATE,
            sha256=sha256,
            image_id=result.image_id,
            reason="already on the server",
        )
    if result.status == "rejected":
        return FileOutcome(
            path=file.path, outcome=Outcome.REJECTED, sha256=sha256, reason=result.error or "no reason given"
        )
    if result.status == "deleted_before":
        # Deleted on the server since the lookup: the server kept it deleted.
        return FileOutcome(
            path=file.path,
            outcome=Outcome.DELETED_ON_SERVER,
            sha256=sha256,
            image_id=result.image_id,
            reason=deleted_reason(image_id=result.image_id),
        )
    if result.status == "restored":
        return FileOutcome(path=file.path, outcome=Outcome.RESTORED, sha256=sha256, image_id=result.image_id)
    return FileOutcome(
        path=file.path, outcome=Outcome.FAILED, sha256=sha256, reason=f"unexpected status {result.status!r}"
    )


def collect_chunk(*, future: Future, chunk: list[HashedFile], report: Report) -> None:
    try:
        result = future.result()
    except ScrollerError as error:
        # Only errors that end the whole run get here: a chunk's own API error is already one of its outcomes.
        report.stopped_by = report.stopped_by or error
        mark_not_sent(chunk=chunk, report=report)
        return
    report.add(*result.outcomes)
    report.files_sent += result.files_sent
    report.bytes_sent += result.bytes_sent


def mark_not_sent(*, chunk: list[HashedFile], report: Report) -> None:
    report.add(*(FileOutcome(path=file.path, outcome=Outcome.NOT_SENT, sha256=file.sha256) for file in chunk))


# sync


def sync(
    *,
    client: ScrollerClient,
    directory: Path,
    state_path: Path,
    visibility: str | None,
    download: bool,
    options: Options,
) -> Report:
    """Upload what is new in `directory`, report what was deleted on the server, optionally download what is missing."""
    if not directory.is_dir():
        raise ScrollerError(f"{directory} is not a folder")
    synced = load_synced_hashes(state_path=state_path, server=client.server, directory=directory)
    report = Report(verbose=options.verbose)
    candidates = collect_candidates(client=client, paths=[directory], report=report, options=options)
    to_send = []
    for file, stored in candidates:
        if stored is None and file.sha256 in synced:
            report.add(
                FileOutcome(
                    path=file.path,
                    outcome=Outcome.DELETED_ON_SERVER,
                    sha256=file.sha256,
                    image_id=synced[file.sha256],
                    reason=deleted_reason(image_id=None),
                )
            )
        elif stored is None:
            to_send.append(file)
        elif stored.deleted:
            report.add(deleted_on_server(file=file, stored=stored))
        else:
            report.add(already_stored(file=file, stored=stored))
    try:
        send_files(client=client, files=to_send, visibility=visibility, report=report, options=options)
        if download and report.stopped_by is None:
            local_sha256s = {file.sha256 for file, _ in candidates}
            download_missing(
                client=client, directory=directory, local_sha256s=local_sha256s, report=report, options=options
            )
    finally:
        # Saved even after a failure, so that what did arrive counts as synced next time.
        synced |= {
            item.sha256: item.image_id
            for item in report.outcomes
            if item.outcome in SYNCED_OUTCOMES and item.image_id is not None and item.sha256
        }
        save_synced_hashes(state_path=state_path, server=client.server, directory=directory, synced=synced)
    return report


def download_missing(
    *, client: ScrollerClient, directory: Path, local_sha256s: set[str], report: Report, options: Options
) -> None:
    try:
        missing = [image for image in client.iter_images(mine=True) if image_sha256(image) not in local_sha256s]
    except ScrollerError as error:
        report.stopped_by = error
        return
    with (
        ThreadPoolExecutor(max_workers=options.jobs) as pool,
        progress_bar(options=options, total=len(missing), unit="file", desc="downloading") as bar,
    ):
        futures = [pool.submit(download_image, client=client, image=image, directory=directory) for image in missing]
        try:
            for future in futures:
                report.add(future.result())
                bar.update(1)
        except (ScrollerError, KeyboardInterrupt) as error:
            report.stopped_by = error if isinstance(error, ScrollerError) else Interrupted()
            pool.shutdown(cancel_futures=True)


def image_sha256(image: dict) -> str:
    try:
        return image["sha256"]
    except KeyError:
        raise ScrollerError("the server's image listing has no sha256, so downloads cannot be verified") from None


def download_image(*, client: ScrollerClient, image: dict, directory: Path) -> FileOutcome:
    """Download into a hidden partial file, verify its SHA-256, then give it a name no existing file has."""
    wanted = directory / local_file_name(image=image)
    partial = directory / f".{wanted.name}.{secrets.token_hex(4)}{PARTIAL_DOWNLOAD_SUFFIX}"
    try:
        # O_EXCL: never write into a file that was already there; the mode follows the user's umask.
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as destination:
            client.download_original(image_id=image["id"], destination=destination)
        actual = hash_file(path=partial).sha256
        if actual != image["sha256"]:
            partial.unlink()
            return FileOutcome(
                path=wanted,
                outcome=Outcome.FAILED,
                sha256=image["sha256"],
                image_id=image["id"],
                reason=f"download of image #{image['id']} did not match its SHA-256 (got {actual}); nothing was saved",
            )
        final = claim_free_name(source=partial, wanted=wanted)
    except (ApiError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = error.message if isinstance(error, ApiError) else describe_os_error(error)
        return FileOutcome(
            path=wanted, outcome=Outcome.FAILED, sha256=image["sha256"], image_id=image["id"], reason=reason
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return FileOutcome(path=final, outcome=Outcome.DOWNLOADED, sha256=image["sha256"], image_id=image["id"])


def local_file_name(*, image: dict) -> str:
    """The image's original name made safe as a single file name, with an extension the next scan recognises."""
    name = unicodedata.normalize("NFC", str(image.get("filename") or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().lstrip(".")
    # File systems limit names in bytes, not characters.
    name = name.encode()[:MAX_FILE_NAME_BYTES].decode(errors="ignore") or f"image-{image['id']}"
    if not is_image_name(Path(name)):
        name += FORMAT_EXTENSIONS.get(str(image.get("format", "")).upper(), ".jpg")
    return name


def claim_free_name(*, source: Path, wanted: Path) -> Path:
    """Hard-link `source` to `wanted`, or to "name (1).ext", "name (2).ext"…: link() never replaces an existing file."""
    candidate, number = wanted, 0
    while True:
        try:
            os.link(source, candidate)
        except FileExistsError:
            number += 1
            candidate = wanted.with_name(f"{wanted.stem} ({number}){wanted.suffix}")
            continue
        source.unlink()
        return candidate


# ls, rm, restore


def list_images(
    *, client: ScrollerClient, hue: int | None, query: str | None, include_deleted: bool, everyone: bool
) -> None:
    count = 0
    for image in client.iter_images(mine=not everyone, include_deleted=include_deleted, hue=hue, query=query):
        print(format_image_line(image=image, show_owner=everyone))
        count += 1
    print(f"{count} image{'s' if count != 1 else ''}", file=sys.stderr)


def format_image_line(*, image: dict, show_owner: bool) -> str:
    size = human_bytes(image["byte_size"]) if "byte_size" in image else ""
    created = (image.get("created_at") or "")[:10]
    hues = ",".join(str(color["hue"]) for color in image.get("colors", []) if color.get("hue") is not None)
    columns = [
        f"{image['id']:>8}",
        f"{image.get('visibility', ''):<7}",
        f"{image.get('width', '?')}x{image.get('height', '?')}".ljust(11),
        f"{size:>9}",
        f"{created:<10}",
        f"hues {hues or '-'}".ljust(20),
    ]
    if "score" in image:
        columns.append(f"score {image['score']:.4f}")
    if show_owner:
        columns.append(image.get("owner", ""))
    columns.append(image.get("filename", ""))
    if image.get("deleted_at"):
        columns.append(f"[deleted {image['deleted_at'][:10]}]")
    return "  ".join(columns)


def remove(*, client: ScrollerClient, image_ids: Sequence[int]) -> bool:
    """Move images to the server's trash; True if all of them went."""
    return apply_to_images(
        image_ids=image_ids,
        action=lambda image_id: client.delete_image(image_id=image_id),
        done=lambda image_id: f"deleted #{image_id} (undo with: scroller-cli restore {image_id})",
    )


def restore(*, client: ScrollerClient, image_ids: Sequence[int]) -> bool:
    return apply_to_images(
        image_ids=image_ids,
        action=lambda image_id: client.restore_image(image_id=image_id),
        done=lambda image_id: f"restored #{image_id}",
    )


def apply_to_images(*, image_ids: Sequence[int], action: Callable[[int], None], done: Callable[[int], str]) -> bool:
    all_done = True
    for image_id in image_ids:
        try:
            action(image_id)
        except ApiError as error:
            all_done = False
            print(f"#{image_id}: {explain_image_error(error=error, image_id=image_id)}", file=sys.stderr)
            continue
        print(done(image_id))
    return all_done


def explain_image_error(*, error: ApiError, image_id: int) -> str:
    if error.status == 404:
        return f"no image #{image_id} that you can see"
    if error.status == 403:
        return f"image #{image_id} is not yours"
    return error.message


# login


def login_with_token(*, client: ScrollerClient, config_path: Path) -> None:
    """Save the API token `client` carries, once the server has accepted it."""
    try:
        client.check_credentials()
    except AuthenticationRequired:
        raise ScrollerError(
            f"the server at {client.server} does not accept this token (mistyped, or revoked?)"
        ) from None
    if client.credentials is None:
        raise ScrollerError("no token to save: give one with --token")
    save_credentials(config_path=config_path, server=client.server, credentials=client.credentials)
    print(f"Logged in to {client.server}; token saved in {config_path}")


def login_with_device_flow(*, client: ScrollerClient, config_path: Path) -> None:
    """RFC 8628: show a code to enter in a browser where the user is logged in, then poll until it is approved."""
    authorization = client.start_device_authorization()
    verification_uri = urljoin(client.server + "/", authorization.verification_uri)
    print(f"To log in, open {verification_uri} in a browser and enter the code: {authorization.user_code}", flush=True)
    if authorization.verification_uri_complete:
        print(f"(or open {urljoin(client.server + '/', authorization.verification_uri_complete)})", flush=True)
    print("Waiting for approval… (Ctrl-C to cancel)", flush=True)
    credentials = poll_for_approval(
        client=client,
        device_code=authorization.device_code,
        interval=authorization.interval,
        expires_at=time.monotonic() + authorization.expires_in,
    )
    save_credentials(config_path=config_path, server=client.server, credentials=credentials)
    print(f"Logged in to {client.server}; token saved in {config_path}")


def poll_for_approval(*, client: ScrollerClient, device_code: str, interval: int, expires_at: float) -> Credentials:
    while time.monotonic() < expires_at:
        # The server sets the pace (RFC 8628 §3.5): polling faster only earns slow_down answers.
        time.sleep(interval)
        try:
            return client.poll_device_token(device_code=device_code)
        except OAuthError as error:
            if error.code == "authorization_pending":
                continue
            if error.code == "slow_down":
                interval = max(error.interval or 0, interval + SLOW_DOWN_STEP_SECONDS)
                continue
            if error.code == "access_denied":
                raise ScrollerError("login was denied in the browser") from None
            if error.code == "expired_token":
                break
            raise
    raise ScrollerError("the login code expired before it was approved; run scroller-cli login again")


# output


def progress_bar(*, options: Options, total: int, unit: str, desc: str) -> tqdm:
    # disable=None lets tqdm hide the bar when stderr is not a terminal (pipes, logs, tests).
    return tqdm(
        total=total,
        unit=unit,
        desc=desc,
        unit_scale=unit == "B",
        unit_divisor=1024,
        leave=False,
        disable=None if options.progress else True,
        file=sys.stderr,
    )


def print_report(
    *, report: Report, options: Options, always_summarised: frozenset[Outcome] = ALWAYS_SUMMARISED
) -> None:
    for outcome in LISTED_OUTCOMES:
        for item in report.outcomes:
            if item.outcome is outcome:
                print(f"{outcome}: {item.path}: {item.reason}")
    print_not_images(paths=report.not_images, verbose=options.verbose)
    counts = Counter(item.outcome for item in report.outcomes)
    print("Summary:")
    for outcome in Outcome:
        if counts[outcome] or outcome in always_summarised:
            print(f"  {SUMMARY_LABELS[outcome]}: {counts[outcome]}")
    print(f"  not images (ignored): {len(report.not_images)}")
    print(f"  sent: {report.files_sent} files, {human_bytes(report.bytes_sent)}")


def describe_outcome(item: FileOutcome) -> str:
    image = f" (#{item.image_id})" if item.image_id else ""
    reason = f": {item.reason}" if item.reason else ""
    return f"{item.outcome}: {item.path}{image}{reason}"


def write_line(line: str) -> None:
    # Through tqdm, so a progress bar on the terminal is redrawn below the line instead of through it.
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


def print_not_images(*, paths: list[Path], verbose: bool) -> None:
    shown = paths if verbose else paths[:NOT_IMAGES_SHOWN]
    for path in shown:
        print(f"not an image, ignored: {path}")
    if len(paths) > len(shown):
        print(f"… and {len(paths) - len(shown)} more files that are not images (-v lists them)")


def human_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
