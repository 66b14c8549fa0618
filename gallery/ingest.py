"""Bulk ingest: from uploaded bytes to stored images, with the image work spread over a process pool.

Analysers come in two kinds. Fast ones (decoding, colour analysis, thumbnail encoding: a few
milliseconds) run before the rows are written, in worker processes (one per core by default,
SCROLLER_INGEST_WORKERS), because CPU-bound Python/C work holds the GIL for much of its time;
the server process keeps the HTTP parsing, hashing, database writes and file storage. Slow ones
(SLOW_ANALYSERS: the classifier's labels) run after the upload commits, as background tasks, so
that an upload never waits for them; each fills in its own fields of the stored image later.
"""

import asyncio
import hashlib
import logging
import multiprocessing
import os
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User

from gallery import selectors, services
from gallery.analysis import ImageAnalysis, ImageRejected
from gallery.labels.tasks import schedule_labelling
from gallery.models import Image
from gallery.purged import selectors as purged_selectors
from gallery.serializers import image_url
from gallery.similar.selectors import near_duplicates_among_owned
from gallery.storage import originals
from gallery.worker import analyse_all, start_worker

Status = Literal["created", "duplicate", "rejected", "deleted_before", "restored"]
MAX_NAME_LENGTH = 255
# What a client is told when the originals' storage cannot be reached; the log says more.
STORAGE_UNAVAILABLE = "storage unavailable"

logger = logging.getLogger(__name__)

# Each is called with the ids of newly stored images, and schedules its work for after the commit.
SLOW_ANALYSERS = (schedule_labelling,)

# Jobs each pool worker is given per request (see _pool_jobs).
JOBS_PER_WORKER = 2

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Upload:
    """One file as received: the client's name and, unless refused by size, its bytes or the file that holds them.

    A file is read only by the worker that analyses it and by the storage that copies it, so a
    large upload is never held in the server process's memory whole.
    """

    filename: str
    data: bytes | Path
    sha256: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    filename: str
    status: Status
    id: int | None = None
    sha256: str | None = None
    error: str | None = None
    # Stored, but looks like (a resized or re-encoded copy of) this older image of the same owner.
    near_duplicate_of: int | None = None

    def as_dict(self) -> dict:
        return asdict(self) | self._page_urls()

    def _page_urls(self) -> dict:
        """Where the image page of this upload, and of the image it looks like, are."""
        return {
            "page_url": image_url("image-page", image_id=self.id) if self.id is not None else None,
            "near_duplicate_url": image_url("image-page", image_id=self.near_duplicate_of)
            if self.near_duplicate_of is not None
            else None,
        }


def _forget_pool_in_child() -> None:
    """A forked process (a test server, say) gets a copy of the pool object but none of its threads; it must start its own."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool_in_child)


def ingest_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the server process has threads and an event loop that a forked child must not inherit.
            _pool = ProcessPoolExecutor(
                max_workers=settings.SCROLLER_INGEST_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=start_worker,
                initargs=(os.getpid(),),
            )
        return _pool


def start_ingest_pool() -> None:
    """Starts every worker of the pool now, in the background, rather than as the first uploads arrive."""
    pool = ingest_pool()
    for _ in range(settings.SCROLLER_INGEST_WORKERS):
        # A worker is started for each job that finds none idle; a job that does nothing is done at once.
        pool.submit(int)


def sanitise_filename(name: str) -> str:
    """The client's name reduced to a displayable base name; it is never used as a path."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    cleaned = "".join(
        char for char in unicodedata.normalize("NFC", base) if unicodedata.category(char)[0] != "C"
    ).strip()
    if len(cleaned) > MAX_NAME_LENGTH:
        _stem, dot, extension = cleaned.rpartition(".")
        keep = MAX_NAME_LENGTH - len(dot + extension) if dot and len(extension) <= 10 else MAX_NAME_LENGTH
        cleaned = cleaned[:keep] + (dot + extension if keep < MAX_NAME_LENGTH else "")
    return cleaned or "unnamed"


def receive(*, filename: str, size: int, read) -> Upload:
    """Size checks come before `read()`, so an oversized file is refused without being read."""
    name = sanitise_filename(filename)
    if refusal := _size_refusal(size):
        return Upload(name, b"", "", error=refusal)
    data = read()
    return Upload(name, data, hashlib.sha256(data).hexdigest())


def receive_file(*, filename: str, size: int, path: Path, sha256: str) -> Upload:
    """A file the upload handler already wrote to disk and hashed (gallery.uploading.handlers)."""
    name = sanitise_filename(filename)
    if refusal := _size_refusal(size):
        return Upload(name, b"", "", error=refusal)
    return Upload(name, path, sha256)


def _size_refusal(size: int) -> str | None:
    limit = settings.SCROLLER_MAX_UPLOAD_BYTES
    if size > limit:
        return f"file is {size / 1_000_000:.1f} MB, over the limit of {limit / 1_000_000:.1f} MB"
    if size == 0:
        return "empty file"
    return None


def _triage(*, owner: User, uploads: list[Upload], restore_deleted: bool) -> tuple[dict[int, IngestResult], list[int]]:
    """Settle what needs no image work (refused by size, duplicates, deleted before); return those results and the indexes left to analyse."""
    hashes = {upload.sha256 for upload in uploads if not upload.error}
    known = selectors.find_by_hashes(owner=owner, hashes=list(hashes))
    purged = purged_selectors.purged_hashes(owner=owner, hashes=hashes - known.keys())
    settled: dict[int, IngestResult] = {}
    to_analyse: list[int] = []
    first_in_batch: dict[str, int] = {}
    for index, upload in enumerate(uploads):
        if upload.error:
            settled[index] = IngestResult(upload.filename, "rejected", error=upload.error)
        elif upload.sha256 in known:
            settled[index] = _settle_known(upload=upload, image=known[upload.sha256], restore_deleted=restore_deleted)
        elif upload.sha256 in purged and not restore_deleted:
            settled[index] = IngestResult(upload.filename, "deleted_before", sha256=upload.sha256)
        elif upload.sha256 in first_in_batch:
            settled[index] = IngestResult(upload.filename, "duplicate", sha256=upload.sha256)
        else:
            first_in_batch[upload.sha256] = index
            to_analyse.append(index)
    to_restore = [result.id for result in settled.values() if result.status == "restored" and result.id is not None]
    if to_restore:
        services.restore_images(actor=owner, image_ids=to_restore)
    return settled, to_analyse


def _settle_known(*, upload: Upload, image: Image, restore_deleted: bool) -> IngestResult:
    """Bytes the owner holds already. Deleted ones stay deleted unless the upload asks to restore them:
    otherwise every phone or sync client that still has the file would undo the deletion."""
    if image.deleted_at is None:
        status: Status = "duplicate"
    elif restore_deleted:
        status = "restored"
    else:
        status = "deleted_before"
    return IngestResult(upload.filename, status, id=image.pk, sha256=upload.sha256)


def _finish(
    *,
    owner,
    uploads: list[Upload],
    settled: dict[int, IngestResult],
    outcomes: dict[int, ImageAnalysis | ImageRejected],
    visibility: str,
    description: str = "",
) -> list[IngestResult]:
    analysed = {index: outcome for index, outcome in outcomes.items() if isinstance(outcome, ImageAnalysis)}
    for index, outcome in outcomes.items():
        if isinstance(outcome, ImageRejected):
            settled[index] = IngestResult(
                uploads[index].filename, "rejected", sha256=uploads[index].sha256, error=outcome.reason
            )
    if analysed:
        settled.update(
            _store(owner=owner, uploads=uploads, analysed=analysed, visibility=visibility, description=description)
        )
    _point_in_batch_duplicates_at_first(uploads=uploads, results=settled)
    return [settled[index] for index in range(len(uploads))]


def _store(
    *, owner, uploads: list[Upload], analysed: dict[int, ImageAnalysis], visibility: str, description: str
) -> dict[int, IngestResult]:
    new_images = [
        services.NewImage(original_name=uploads[index].filename, data=uploads[index].data, analysis=analysis)
        for index, analysis in analysed.items()
    ]
    try:
        stored = services.store_images(
            owner=owner, new_images=new_images, visibility=visibility, description=description
        )
    except originals.StorageUnavailable as failure:
        logger.warning("%s; %d file(s) rejected", failure, len(new_images))
        return {
            index: IngestResult(
                uploads[index].filename, "rejected", sha256=uploads[index].sha256, error=STORAGE_UNAVAILABLE
            )
            for index in analysed
        }
    created_ids = [image.pk for image, created in stored if created]
    for schedule in SLOW_ANALYSERS:
        schedule(image_ids=created_ids)
    near_duplicates = near_duplicates_among_owned(owner=owner, images=[image for image, created in stored if created])
    return {
        index: IngestResult(
            uploads[index].filename,
            "created" if created else "duplicate",
            id=image.pk,
            sha256=uploads[index].sha256,
            near_duplicate_of=near_duplicates.get(image.pk),
        )
        for index, (image, created) in zip(analysed, stored, strict=True)
    }


def _point_in_batch_duplicates_at_first(*, uploads: list[Upload], results: dict[int, IngestResult]) -> None:
    ids_by_hash = {result.sha256: result.id for result in results.values() if result.id is not None}
    for index, result in results.items():
        if result.status == "duplicate" and result.id is None:
            first_id = ids_by_hash.get(result.sha256)
            if first_id is None:
                # The first copy in this batch was refused, so this one is refused for the same reason.
                first = next(r for r in results.values() if r.sha256 == result.sha256 and r.status == "rejected")
                results[index] = IngestResult(
                    uploads[index].filename, "rejected", sha256=result.sha256, error=first.error
                )
            else:
                results[index] = IngestResult(result.filename, "duplicate", id=first_id, sha256=result.sha256)


async def ingest_async(
    *, owner: User, uploads: list[Upload], visibility: str, description: str = "", restore_deleted: bool = False
) -> list[IngestResult]:
    settled, to_analyse = await sync_to_async(_triage)(owner=owner, uploads=uploads, restore_deleted=restore_deleted)
    loop = asyncio.get_running_loop()
    pool = ingest_pool()
    jobs = _pool_jobs(to_analyse)
    analysed = await asyncio.gather(
        *(loop.run_in_executor(pool, _analyse_in_worker([uploads[index].data for index in job])) for job in jobs)
    )
    outcomes = _outcomes_by_index(jobs=jobs, results=analysed)
    return await sync_to_async(_finish)(
        owner=owner, uploads=uploads, settled=settled, outcomes=outcomes, visibility=visibility, description=description
    )


def ingest_batches(
    *, owner: User, batches: Iterable[list[Upload]], visibility: str, in_flight: int = 2, restore_deleted: bool = False
) -> Iterator[list[IngestResult]]:
    """The synchronous pipeline for the import command: while one batch is stored, the next ones are being analysed."""
    pool = ingest_pool()
    pending: list[tuple[list[Upload], dict[int, IngestResult], dict[tuple[int, ...], Future]]] = []
    for uploads in batches:
        settled, to_analyse = _triage(owner=owner, uploads=uploads, restore_deleted=restore_deleted)
        futures = {
            tuple(job): pool.submit(_analyse_in_worker([uploads[index].data for index in job]))
            for job in _pool_jobs(to_analyse)
        }
        pending.append((uploads, settled, futures))
        if len(pending) > in_flight:
            yield _finish_batch(owner=owner, batch=pending.pop(0), visibility=visibility)
    for batch in pending:
        yield _finish_batch(owner=owner, batch=batch, visibility=visibility)


def _finish_batch(*, owner: User, batch, visibility: str) -> list[IngestResult]:
    uploads, settled, futures = batch
    outcomes = _outcomes_by_index(jobs=futures, results=[future.result() for future in futures.values()])
    return _finish(owner=owner, uploads=uploads, settled=settled, outcomes=outcomes, visibility=visibility)


def _pool_jobs(indexes: list[int]) -> list[list[int]]:
    """The files to analyse, dealt into JOBS_PER_WORKER jobs per pool worker: a job per file cost the server
    process 0.12 ms of CPU per image in the pool's queues and wake-ups, shares of a chunk of 16 a quarter of it;
    more than one job per worker keeps a large file from holding up a whole half of its chunk."""
    jobs = min(len(indexes), settings.SCROLLER_INGEST_WORKERS * JOBS_PER_WORKER)
    return [indexes[job::jobs] for job in range(jobs)]


def _outcomes_by_index(
    *, jobs: Iterable[Iterable[int]], results: Iterable[list[ImageAnalysis | ImageRejected]]
) -> dict[int, ImageAnalysis | ImageRejected]:
    """Each job's results, in its files' order, back under the indexes of the files."""
    return {
        index: outcome
        for job, found in zip(jobs, results, strict=True)
        for index, outcome in zip(job, found, strict=True)
    }


def _analyse_in_worker(sources: list[bytes | Path]):
    return partial(analyse_all, sources, max_pixels=settings.SCROLLER_MAX_PIXELS)
