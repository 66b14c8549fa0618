"""Labelling stored images: classify their originals, write the labels, tell the scrollers that showed them."""

import logging
from collections.abc import Iterable

from django.db import OperationalError, transaction
from PIL import Image as PILImage

from gallery.labels.classifier import get_classifier, open_for_labelling
from gallery.models import Image
from gallery.realtime import events
from gallery.search import services as search_services

logger = logging.getLogger(__name__)

# Images decoded and run through the network together: batching saves a little per image,
# and keeps a task's memory bounded however many ids it is given.
CLASSIFY_BATCH = 8
# Times save_labels runs its transaction when the database rolls it back to break a deadlock.
DEADLOCK_ATTEMPTS = 3
# MySQL's and MariaDB's ER_LOCK_DEADLOCK.
MYSQL_DEADLOCK = 1213


class LabellingFailed(RuntimeError):
    """Some images could not be labelled (their original is missing or unreadable); the others were."""

    def __init__(self, *, reasons: dict[int, str]) -> None:
        self.image_ids = sorted(reasons)
        details = "; ".join(f"image {image_id}: {reasons[image_id]}" for image_id in self.image_ids)
        super().__init__(f"{len(reasons)} image(s) could not be labelled: {details}")


def label_images(*, image_ids: Iterable[int]) -> list[int]:
    """Classify these images and store their labels, batch by batch; returns the ids of those labelled.

    Raises ClassifierUnavailable before touching anything when the model cannot be loaded, and
    LabellingFailed after storing the rest when some originals could not be read.
    """
    classifier = get_classifier()
    ids = list(image_ids)
    labelled: list[int] = []
    reasons: dict[int, str] = {}
    for start in range(0, len(ids), CLASSIFY_BATCH):
        images = list(Image.objects.filter(pk__in=ids[start : start + CLASSIFY_BATCH]).only("pk", "original"))
        decoded: dict[int, PILImage.Image] = {}
        for image in images:
            try:
                decoded[image.pk] = _decode_original(image)
            except (OSError, ValueError, PILImage.DecompressionBombError) as error:
                reasons[image.pk] = f"cannot read its original {image.original.name}: {error}"
        labels = classifier.classify(list(decoded.values()))
        save_labels(
            labels_by_id={
                image_id: [label.as_dict() for label in found] for image_id, found in zip(decoded, labels, strict=True)
            }
        )
        labelled += decoded
    if reasons:
        raise LabellingFailed(reasons=reasons)
    return labelled


def _decode_original(image: Image) -> PILImage.Image:
    with image.original.open("rb") as file:
        decoded = open_for_labelling(file)
        decoded.load()
    return decoded


def save_labels(*, labels_by_id: dict[int, list[dict]]) -> None:
    """Store each image's labels (highest first) and their search terms; once committed, scrollers that were shown them
    get an `updated` event.

    Two workers rewriting postings at once can deadlock in MariaDB (each delete and insert locks its
    neighbours in the (keyword, image) index, and the two sets interleave); the database then rolls one
    back, and its transaction is run again at once, up to DEADLOCK_ATTEMPTS times, rather than failing
    the task and leaving its images unlabelled until the task's own retry, SCROLLER_LABELS_RETRY_SECONDS later.
    """
    if not labels_by_id:
        return
    # Inside a caller's transaction a deadlock has rolled back the caller's work too: only the caller can retry.
    attempts = 1 if transaction.get_connection().in_atomic_block else DEADLOCK_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                for image_id, labels in labels_by_id.items():
                    Image.objects.filter(pk=image_id).update(labels=labels)
                search_services.reindex_images(image_ids=list(labels_by_id))
                events.announce_updated(image_ids=list(labels_by_id))
            return
        except OperationalError as error:
            if attempt == attempts or not _is_deadlock(error):
                raise
            logger.info("labels: images %s met a deadlock (attempt %d); trying again", sorted(labels_by_id), attempt)


def _is_deadlock(error: OperationalError) -> bool:
    return bool(error.args) and error.args[0] == MYSQL_DEADLOCK
