"""Labelling after the upload commits, in a background task run by the database backend's worker."""

import logging

import pytest
from django_tasks_db.models import DBTaskResult

from gallery.models import Image
from tests.gallery.labels.conftest import lose_original, photo_bytes, run_worker, top_label
from tests.gallery.test_api_upload import upload

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded_ids(client, *names: str) -> list[int]:
    results = upload(client, *((name, photo_bytes(name)) for name in names))["results"]
    assert [result["status"] for result in results] == ["created"] * len(names)
    return [result["id"] for result in results]


def test_an_upload_is_labelled_by_a_background_task_after_it_commits(alice_client):
    [ladybug, cups] = uploaded_ids(alice_client, "ladybug.jpg", "cups.jpg")
    assert alice_client.get(f"/api/images/{ladybug}/").json()["labels"] is None
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs["kwargs"] == {"image_ids": [ladybug, cups]}

    run_worker()

    labels = alice_client.get(f"/api/images/{ladybug}/").json()["labels"]
    assert labels[0] == {"name": "ladybug", "wnid": "n02165456", "probability": pytest.approx(0.74, abs=0.05)}
    assert len(labels) == 5
    assert top_label(cups) in {"cup", "coffee mug"}
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_failing_task_is_retried_then_recorded_failed_and_the_image_stays(alice_client, settings, caplog):
    settings.SCROLLER_LABELS_ATTEMPTS = 2
    settings.SCROLLER_LABELS_RETRY_SECONDS = 0
    [lost, kept] = uploaded_ids(alice_client, "ladybug.jpg", "daisy.jpg")
    lose_original(lost)

    with caplog.at_level(logging.WARNING, logger="gallery.labels"):
        run_worker()

    attempts = DBTaskResult.objects.order_by("enqueued_at")
    assert [task.status for task in attempts] == ["FAILED", "FAILED"]
    assert [task.args_kwargs["kwargs"] for task in attempts] == [
        {"image_ids": [lost, kept]},
        {"image_ids": [lost], "attempt": 2},
    ]
    assert attempts[1].exception_class_path == "gallery.labels.services.LabellingFailed"
    assert f"image {lost}: cannot read its original" in attempts[1].traceback
    assert f"giving up on images [{lost}] after 2 attempts" in caplog.text
    image = alice_client.get(f"/api/images/{lost}/")
    assert image.status_code == 200
    assert image.json()["labels"] is None
    assert top_label(kept) == "daisy"


def test_a_missing_model_file_leaves_images_unlabelled_with_a_log_line(alice_client, settings, tmp_path, caplog):
    settings.SCROLLER_LABELS_WEIGHTS = str(tmp_path / "efficientnet-lite0.pth")
    settings.SCROLLER_LABELS_MODEL_DIR = tmp_path / "models"
    [image_id] = uploaded_ids(alice_client, "ladybug.jpg")

    with caplog.at_level(logging.ERROR, logger="gallery.labels"):
        run_worker()

    assert Image.objects.get(pk=image_id).labels is None
    assert "the classifier is unavailable (cannot read the classifier's weights" in caplog.text
    assert "efficientnet-lite0.pth" in caplog.text
    [task] = DBTaskResult.objects.all()
    assert task.status == "FAILED"
    assert task.exception_class_path == "gallery.labels.classifier.ClassifierUnavailable"
