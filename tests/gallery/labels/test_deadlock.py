"""Storing labels when another writer deadlocks with it (MariaDB: SQLite writes one transaction at a time)."""

import logging
import threading
import time

import pytest
from django.db import connection, transaction

from gallery.labels.services import save_labels
from gallery.models import Image

pytestmark = pytest.mark.django_db(transaction=True)

LABELS = [{"name": "ladybug", "wnid": "n02165456", "probability": 0.74}]


def wait_for_labels_of(image_id: int, *, timeout: float = 10) -> None:
    """Until another connection is writing the labels of `image_id`: save_labels, blocked behind this one's lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.processlist"
                " WHERE db = DATABASE() AND id <> CONNECTION_ID() AND info LIKE %s",
                [f"UPDATE `gallery\\_image` SET `labels` = % WHERE `gallery\\_image`.`id` = {image_id}"],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"save_labels never came to the labels of image {image_id}")


def test_labels_are_stored_when_the_database_breaks_a_deadlock_by_rolling_them_back(make_image, caplog):
    if connection.vendor != "mysql":
        pytest.skip("a deadlock needs two concurrent writers; SQLite has one at a time")
    first, second, *others = [make_image() for _ in range(12)]
    holds_first = threading.Event()
    failures: list[BaseException] = []

    def other_writer() -> None:
        # It changes more rows than save_labels will have when they meet, so the database rolls back save_labels.
        try:
            with transaction.atomic():
                Image.objects.filter(pk__in=[first.pk, *(image.pk for image in others)]).update(description="other")
                holds_first.set()
                wait_for_labels_of(first.pk)
                Image.objects.filter(pk=second.pk).update(description="other")
        except BaseException as failure:
            failures.append(failure)
        finally:
            connection.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert holds_first.wait(timeout=10)
    with caplog.at_level(logging.INFO, logger="gallery.labels"):
        # The second image's row first, then the first's, which the other writer holds and which then wants the second's.
        save_labels(labels_by_id={second.pk: LABELS, first.pk: LABELS})
    writer.join(timeout=10)

    assert failures == []
    assert "met a deadlock (attempt 1); trying again" in caplog.text
    assert [image.labels for image in Image.objects.filter(pk__in=[first.pk, second.pk])] == [LABELS, LABELS]
    assert set(Image.objects.filter(pk__in=[first.pk, second.pk]).values_list("description", flat=True)) == {"other"}
