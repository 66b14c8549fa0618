"""Reads for labelling."""

from datetime import datetime

from django.db.models import Max
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from gallery.models import Image


def images_to_label(*, missing_only: bool) -> list[int]:
    """Ids of stored images, oldest first: all of them, or those the classifier has not labelled yet."""
    images = Image.objects.all()
    if missing_only:
        images = images.filter(labels__isnull=True)
    return list(images.order_by("pk").values_list("pk", flat=True))


def last_labelling_finish() -> datetime | None:
    return _labelling_tasks().aggregate(last=Max("finished_at"))["last"]


def labelled_since(*, cursor: datetime | None) -> tuple[datetime | None, list[int]]:
    """Ids of the images labelled by tasks finished after `cursor`, and the new cursor."""
    finished = _labelling_tasks().filter(status=TaskResultStatus.SUCCESSFUL)
    if cursor is not None:
        finished = finished.filter(finished_at__gt=cursor)
    image_ids: list[int] = []
    for finished_at, result in finished.order_by("finished_at").values_list("finished_at", "return_value"):
        cursor = finished_at
        labelled = result.get("labelled") if isinstance(result, dict) else None
        # A result of another shape (an older version's) names no images, and must not stop the cursor.
        if isinstance(labelled, list):
            image_ids += labelled
    return cursor, image_ids


def _labelling_tasks():
    from gallery.labels.tasks import label_images_task

    return DBTaskResult.objects.filter(task_path=label_images_task.module_path)
