"""On the in-memory channel layer, labels landed by a worker in another process still reach the server's scrollers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from gallery import ingest
from gallery.models import Image
from tests.gallery.labels.conftest import photo_bytes
from tests.gallery.realtime.test_consumer import ids_of, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ROOT = Path(__file__).resolve().parents[3]


def run_worker_process(*, model_dir: Path) -> None:
    """`manage.py db_worker --batch` in a process of its own, on the test database."""
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{database['NAME']}"
    else:
        url = f"mysql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    environment = os.environ | {
        "DATABASE_URL": url,
        "SCROLLER_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "SCROLLER_LABELS_MODEL_DIR": str(model_dir),
    }
    environment.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload", "-v", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=300,
    )


@pytest.mark.parametrize("channel_layer", ["in-memory"], indirect=True)
async def test_labels_landed_in_another_process_reach_the_scrollers_through_the_task_table(
    connect, channel_layer, settings, labels_model_dir, user
):
    settings.SCROLLER_LABELS_RELAY_SECONDS = 0.2
    data = photo_bytes("daisy.jpg")
    [result] = await ingest.ingest_async(
        owner=user,
        uploads=[ingest.receive(filename="daisy.jpg", size=len(data), read=lambda: data)],
        visibility="public",
    )
    assert result.id is not None
    palette = (await Image.objects.aget(pk=result.id)).palette
    hue = next(hue for hue, _, _, share in palette if hue is not None and share >= 0.1)
    client, _ = await connect()
    batch, _ = await subscribe(client, hue=hue)
    assert ids_of(batch) == [result.id]

    await database_sync_to_async(run_worker_process)(model_dir=labels_model_dir)

    updated = await client.receive_json_from(timeout=30)
    assert updated["type"] == "updated"
    assert updated["images"][0]["labels"][0]["name"] == "daisy"
