"""Background tasks of the labels package (Django's Tasks API; `manage.py db_worker` runs them)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from gallery.labels.classifier import ClassifierUnavailable
from gallery.labels.services import LabellingFailed, label_images

logger = logging.getLogger(__name__)


@task()
def label_images_task(*, image_ids: list[int], attempt: int = 1) -> dict:
    """Label these images. A failure is recorded as this task's result, with its reason; what failed is tried again
    later, as a new task, until SCROLLER_LABELS_ATTEMPTS attempts are used up. The images and their uploads are never
    touched by a failure: they just stay unlabelled."""
    try:
        return {"labelled": label_images(image_ids=image_ids), "attempt": attempt}
    except ClassifierUnavailable as error:
        # Retrying cannot bring a model file back; `label_images --missing` labels these once it is.
        logger.error("labels: the classifier is unavailable (%s); images %s stay unlabelled", error, image_ids)
        raise
    except Exception as error:
        failed = error.image_ids if isinstance(error, LabellingFailed) else image_ids
        if attempt < settings.SCROLLER_LABELS_ATTEMPTS:
            delay = timedelta(seconds=settings.SCROLLER_LABELS_RETRY_SECONDS * attempt)
            label_images_task.using(run_after=timezone.now() + delay).enqueue(image_ids=failed, attempt=attempt + 1)
            logger.warning(
                "labels: attempt %d for images %s failed (%s); trying again in %s", attempt, failed, error, delay
            )
        else:
            logger.error("labels: giving up on images %s after %d attempts: %s", failed, attempt, error)
        raise


def schedule_labelling(*, image_ids: list[int]) -> None:
    """The ingest pipeline's slow analyser: a background task, enqueued only once the new rows are committed.

    A queue that cannot take the task (its table unreachable) costs the images their labels
    until `manage.py label_images --missing`, never the upload: the failure is logged.
    """
    if not image_ids:
        return
    ids = list(image_ids)
    transaction.on_commit(lambda: label_images_task.enqueue(image_ids=ids), robust=True)
