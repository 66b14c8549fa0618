"""GET /healthz: whether each dependency a server process needs answers, for load balancers and operators.

Unauthenticated, so it says only "ok", "down" or "not configured" per dependency: no host
names, versions or error texts (those go to the log). Each probe is one cheap round trip
(SELECT 1, a Redis PING, a HEAD of the bucket or a stat of the media folder, one indexed
read of the task queue), all run concurrently, each cut off after a few seconds.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from gallery.storage import originals

logger = logging.getLogger(__name__)

OK, DOWN, NOT_CONFIGURED = "ok", "down", "not configured"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # channels-redis: one PING per Redis host of the ring. The in-memory layer lives in this process.
    for index in range(getattr(layer, "ring_size", 0)):
        await layer.connection(index).ping()


def _task_queue_configured() -> bool:
    return "django_tasks" in settings.INSTALLED_APPS and bool(getattr(settings, "TASKS", None))


def _task_queue() -> None:
    backend = str(settings.TASKS["default"]["BACKEND"])
    if backend.startswith("django_tasks_db."):
        from django_tasks_db.models import DBTaskResult

        list(DBTaskResult.objects.order_by().values_list("pk", flat=True)[:1])


async def _probe(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), timeout=settings.SCROLLER_HEALTHZ_TIMEOUT_SECONDS)
    except Exception:
        logger.warning("healthz: %s is down", name, exc_info=True)
        return DOWN
    return OK


async def _not_configured() -> str:
    return NOT_CONFIGURED


async def dependency_states() -> dict[str, str]:
    names = ("database", "channel_layer", "storage", "task_queue")
    states = await asyncio.gather(
        _probe("database", sync_to_async(_database)),
        _probe("channel_layer", _channel_layer),
        # In the one shared thread: a bucket's client is made per thread, and making one costs more than the probe.
        _probe("storage", sync_to_async(originals.probe)),
        _probe("task_queue", sync_to_async(_task_queue)) if _task_queue_configured() else _not_configured(),
    )
    return dict(zip(names, states, strict=True))


@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    states = await dependency_states()
    down = [name for name, state in states.items() if state == DOWN]
    response = JsonResponse({"status": "down" if down else "ok", "down": down, **states}, status=503 if down else 200)
    response["Cache-Control"] = "no-store"
    return response
