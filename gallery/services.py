"""Every write to images: storing an analysed upload, soft delete, restore, purge."""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from gallery import selectors
from gallery.analysis import ImageAnalysis
from gallery.bulk_insert import insert_rows
from gallery.colors import DominantColor as DominantColorFound
from gallery.models import DominantColor, Image, Visibility
from gallery.page.rendition import rendition_path
from gallery.permissions import can_modify_image
from gallery.purged import services as purged_services
from gallery.realtime import events
from gallery.search import services as search_services
from gallery.storage import originals

logger = logging.getLogger(__name__)

ORIGINALS_DIR = "originals"
MAX_DESCRIPTION_LENGTH = Image._meta.get_field("description").max_length or 2000
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def original_path(*, owner_id: int, sha256: str, image_format: str) -> str:
    """Named by owner and content, never by the client's file name."""
    return f"{ORIGINALS_DIR}/{owner_id}/{sha256[:2]}/{sha256}.{EXTENSIONS[image_format]}"


@dataclass(frozen=True, slots=True)
class NewImage:
    original_name: str
    data: bytes | Path  # the uploaded bytes, or the file that holds them (a large upload is never read whole here)
    analysis: ImageAnalysis

    @property
    def byte_size(self) -> int:
        return len(self.data) if isinstance(self.data, bytes) else self.data.stat().st_size


def store_images(
    *, owner: User, new_images: list[NewImage], visibility: str, description: str = ""
) -> list[tuple[Image, bool]]:
    """Keep the originals and their records, one transaction for the lot; returns (image, created) for each, in order.

    `description` goes to every image this call creates; images that already existed keep theirs.

    The files are written before the rows are committed, so a visible record always
    has its file; if the insert fails the files are removed again. A hard crash
    between the two leaves files without rows, which `purge_deleted` sweeps.
    Raises StorageUnavailable, having written no row, when the storage does not take every file.
    """
    paths = _write_originals(owner=owner, new_images=new_images)
    try:
        with transaction.atomic():
            images = Image.objects.bulk_create(
                [
                    image_row(
                        owner=owner, new_image=new_image, path=path, visibility=visibility, description=description
                    )
                    for new_image, path in zip(new_images, paths, strict=True)
                ]
            )
            insert_rows(
                model=DominantColor,
                fields=COLOR_FIELDS,
                rows=[
                    values
                    for image, new_image in zip(images, new_images, strict=True)
                    for values in color_values(image_id=image.pk, colors=new_image.analysis.colors)
                ],
            )
            search_services.index_images(images=images, new=True)
            events.announce_added(images=images)
    except IntegrityError:
        # A concurrent upload of some of the same bytes by the same owner won the race:
        # one at a time, so that each image learns whether it is new or a duplicate.
        return [
            _store_one(owner=owner, new_image=new_image, path=path, visibility=visibility, description=description)
            for new_image, path in zip(new_images, paths, strict=True)
        ]
    except BaseException:
        for path in paths:
            _discard_unreferenced(path=path)
        raise
    return [(image, True) for image in images]


def _store_one(*, owner: User, new_image: NewImage, path: str, visibility: str, description: str) -> tuple[Image, bool]:
    try:
        with transaction.atomic():
            image = image_row(
                owner=owner, new_image=new_image, path=path, visibility=visibility, description=description
            )
            image.save()
            insert_rows(
                model=DominantColor,
                fields=COLOR_FIELDS,
                rows=color_values(image_id=image.pk, colors=new_image.analysis.colors),
            )
            search_services.index_images(images=[image], new=True)
            events.announce_added(images=[image])
    except IntegrityError:
        # The winner's row points at this very path with identical content, so the file stays.
        existing = Image.objects.filter(owner=owner, sha256=new_image.analysis.sha256).first()
        if existing is None:
            _discard_unreferenced(path=path)
            raise
        return existing, False
    except BaseException:
        _discard_unreferenced(path=path)
        raise
    return image, True


def _write_originals(*, owner: User, new_images: list[NewImage]) -> list[str]:
    """Each original's storage name; a file that a committed row already points at is left as it is.

    Those bytes are the same (the name is their hash), and rewriting them would let a download in
    progress read a file that is being replaced.
    """
    paths = [
        original_path(owner_id=owner.pk, sha256=new_image.analysis.sha256, image_format=new_image.analysis.format)
        for new_image in new_images
    ]
    # The owner and hash narrow the look-up to the (owner, sha256) index: `original` has none, and a scan of
    # every image per upload chunk grew with the library (3.5 ms of MariaDB at 4000 images). The name is made
    # of them, so a row pointing at it has them (were its owner changed since, rewriting writes the same bytes).
    committed = set(
        Image.objects.filter(
            owner=owner, sha256__in=[new_image.analysis.sha256 for new_image in new_images], original__in=paths
        ).values_list("original", flat=True)
    )
    written: list[str] = []
    try:
        for path, new_image in zip(paths, new_images, strict=True):
            if path not in committed:
                originals.write(name=path, data=new_image.data)
                written.append(path)
    except originals.StorageUnavailable:
        for path in written:
            _discard_unreferenced(path=path)
        raise
    return paths


def image_row(*, owner: User, new_image: NewImage, path: str, visibility: str, description: str = "") -> Image:
    """The unsaved Image of an analysed upload; its palette repeats the colour rows for the websocket's one-query load."""
    analysis = new_image.analysis
    return Image(
        owner=owner,
        original_name=new_image.original_name,
        sha256=analysis.sha256,
        width=analysis.width,
        height=analysis.height,
        format=analysis.format,
        byte_size=new_image.byte_size,
        original=path,
        thumbnail=analysis.thumbnail,
        thumbnail_width=analysis.thumbnail_width,
        thumbnail_height=analysis.thumbnail_height,
        is_monochrome=analysis.monochrome,
        palette=palette_of(analysis.colors),
        visibility=visibility,
        description=description,
        **_similarity_fields(analysis),
    )


def _similarity_fields(analysis: ImageAnalysis) -> dict[str, object]:
    """What photomosaics and "more like this" keep of an image."""
    lightness, green_red, blue_yellow = analysis.tile.lab
    return {
        "mosaic_tile": analysis.tile.pixels,
        "mosaic_l": lightness,
        "mosaic_a": green_red,
        "mosaic_b": blue_yellow,
        "perceptual_hash": analysis.perceptual_hash,
    }


def palette_of(colors: Sequence[DominantColorFound]) -> list[list]:
    """Image.palette: each colour as [hue, saturation, value, share], largest share first."""
    return [[color.hue, color.saturation, color.value, color.share] for color in colors]


# The columns of color_values' rows, in their order.
COLOR_FIELDS = ("image", "rank", "hue", "saturation", "value", "share", "shuffle")


def color_values(
    *, image_id: int, colors: Sequence[DominantColorFound], shuffle: int | None = None
) -> list[tuple[int, int, int | None, float, float, float, int]]:
    """The DominantColor rows of a saved image as plain values (COLOR_FIELDS), all under one shuffle key, random
    unless given (see gallery.realtime.hue_stream): inserted without model instances (gallery.bulk_insert)."""
    shuffle = secrets.randbits(32) if shuffle is None else shuffle
    return [
        (image_id, rank, color.hue, float(color.saturation), float(color.value), float(color.share), shuffle)
        for rank, color in enumerate(colors)
    ]


def _discard_unreferenced(*, path: str) -> None:
    try:
        referenced = Image.objects.filter(original=path).exists()
    except DatabaseError:
        # The database cannot say whether a committed record owns the file, so it stays for the orphan sweep to judge.
        return
    if not referenced:
        _delete_files(paths=[path])


def soft_delete_image(*, actor: User, image_id: int) -> Image:
    with transaction.atomic():
        image = _lock_for_change(actor=actor, image_id=image_id)
        if image.deleted_at is None:
            image.deleted_at = timezone.now()
            image.save(update_fields=["deleted_at"])
            events.announce_removed(image_ids=[image.pk])
    return image


def restore_image(*, actor: User, image_id: int) -> Image:
    with transaction.atomic():
        image = _lock_for_change(actor=actor, image_id=image_id)
        if image.deleted_at is not None:
            image.deleted_at = None
            image.save(update_fields=["deleted_at"])
            events.announce_added(images=[selectors.image_to_announce(image_id=image.pk)])
    return image


def restore_images(*, actor: User, image_ids: list[int]) -> list[int]:
    """Undo the deletion of many images at once; returns the ids that are now alive (those already alive included).

    Ids the actor may not restore (not theirs and not staff, or no such image) are left out of the answer.
    """
    with transaction.atomic():
        images = Image.objects.filter(pk__in=set(image_ids)).defer("thumbnail").select_for_update()
        if not actor.is_staff:
            images = images.filter(owner=actor)
        found = list(images)
        deleted = [image for image in found if image.deleted_at is not None]
        Image.objects.filter(pk__in=[image.pk for image in deleted]).update(deleted_at=None)
        for image in deleted:
            image.deleted_at = None
        events.announce_added(images=deleted)
    return sorted(image.pk for image in found)


def _lock_for_change(*, actor: User, image_id: int) -> Image:
    """Raises Image.DoesNotExist when the actor cannot see the image, PermissionDenied when it is not theirs."""
    image = Image.objects.visible_to(actor).select_for_update().get(pk=image_id)
    if not can_modify_image(user=actor, owner_id=image.owner_id):
        if image.deleted_at is not None:
            # Deleted images are seen only by those who may restore them.
            raise Image.DoesNotExist(f"no image {image_id}")
        raise PermissionDenied("only the owner or staff may change this image")
    return image


def set_visibility(*, actor: User, image_id: int, visibility: str) -> Image:
    if visibility not in Visibility.values:
        raise ValueError(f"visibility must be one of {', '.join(Visibility.values)}")
    with transaction.atomic():
        image = _lock_for_change(actor=actor, image_id=image_id)
        if image.visibility == visibility:
            return image
        image.visibility = visibility
        image.save(update_fields=["visibility"])
        if image.deleted_at is None:
            if visibility == Visibility.PRIVATE:
                events.announce_hidden(images=[image])
            else:
                events.announce_added(images=[selectors.image_to_announce(image_id=image.pk)], published=True)
    return image


def set_description(*, actor, image_id: int, description: str) -> Image:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValueError(f"a description is at most {MAX_DESCRIPTION_LENGTH} characters")
    with transaction.atomic():
        image = _lock_for_change(actor=actor, image_id=image_id)
        if image.description != description:
            image.description = description
            image.save(update_fields=["description"])
            search_services.reindex_images(image_ids=[image.pk])
            events.announce_updated(image_ids=[image.pk])
    return image


def purge_images(*, image_ids: list[int]) -> int:
    """Hard delete: rows now, their files once the deletion is committed; their hashes are remembered for a while."""
    with transaction.atomic():
        rows = list(
            Image.objects.select_for_update().filter(pk__in=image_ids).values_list("original", "owner_id", "sha256")
        )
        paths = [path for path, _, _ in rows]
        Image.objects.filter(pk__in=image_ids).delete()
        # Only the hash is kept, so that uploading the same bytes again does not bring the image back.
        purged_services.remember_purged(owner_hashes=[(owner_id, sha256) for _, owner_id, sha256 in rows])
        events.announce_removed(image_ids=list(image_ids))
        # Display renditions are named after their originals (gallery.page.rendition) and go with them.
        files = [*paths, *(rendition_path(path) for path in paths)]
        transaction.on_commit(lambda: _delete_files(paths=files))
    return len(paths)


def purge_deleted_images(*, older_than: timedelta, batch_size: int = 500) -> int:
    cutoff = timezone.now() - older_than
    purged = 0
    while batch := list(Image.objects.filter(deleted_at__lt=cutoff).values_list("pk", flat=True)[:batch_size]):
        purged += purge_images(image_ids=batch)
    return purged


def remove_orphan_files(*, older_than: timedelta) -> int:
    """Delete original files that no record points at: what a hard crash mid-upload can leave behind.

    Files younger than `older_than` may belong to an upload still in flight, so they are kept.
    The storage is listed a page at a time (a thousand objects per request from a bucket), and
    each page costs one query and one batch delete.
    """
    cutoff = timezone.now() - older_than
    removed = 0
    for page in originals.list_pages(directory=ORIGINALS_DIR):
        candidates = [stored.name for stored in page if stored.modified < cutoff]
        referenced = set(Image.objects.filter(original__in=candidates).values_list("original", flat=True))
        orphans = [name for name in candidates if name not in referenced]
        originals.delete(names=orphans)
        removed += len(orphans)
    return removed


def _delete_files(*, paths: list[str]) -> None:
    try:
        originals.delete(names=paths)
    except originals.StorageUnavailable:
        logger.exception("could not delete %d file(s); purge_deleted will sweep them as orphans", len(paths))
