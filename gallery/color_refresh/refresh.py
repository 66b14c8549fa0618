"""Re-analysing every stored image's colours from its original, on the ingest pool's cores."""

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage

from gallery.color_refresh import selectors, services
from gallery.color_refresh.work import colors_or_refusal
from gallery.colors import DominantColor
from gallery.ingest import ingest_pool

BATCH_SIZE = 64


@dataclass
class RefreshSummary:
    rewritten: int = 0
    # reason → ids of images kept with their old colours
    skipped: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, *, image_id: int, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(image_id)


def reanalyse_all(
    *, batch_size: int = BATCH_SIZE, on_batch: Callable[[int], None] = lambda count: None
) -> RefreshSummary:
    """Every image's colours found again from its original; thumbnails untouched; one transaction per batch.

    While one batch is written, the next is being analysed. An original that cannot be read, or that
    the analysis would now refuse, keeps its image's old colours and is counted in the summary.
    """
    summary = RefreshSummary()
    pending: list[dict[int, Future | str]] = []
    for batch in selectors.image_batches(batch_size=batch_size):
        pending.append(dict(_submitted(batch)))
        if len(pending) > 1:
            _finish(pending.pop(0), summary=summary, on_batch=on_batch)
    for outcomes in pending:
        _finish(outcomes, summary=summary, on_batch=on_batch)
    return summary


def _submitted(batch: list[tuple[int, str]]) -> Iterator[tuple[int, Future | str]]:
    pool = ingest_pool()
    for image_id, name in batch:
        try:
            with default_storage.open(name) as original:
                data = original.read()
        except OSError as error:
            yield image_id, f"original unreadable: {error.strerror or error}"
            continue
        yield image_id, pool.submit(partial(colors_or_refusal, data, max_pixels=settings.SCROLLER_MAX_PIXELS))


def _finish(outcomes: dict[int, Future | str], *, summary: RefreshSummary, on_batch: Callable[[int], None]) -> None:
    colors_by_image: dict[int, tuple[DominantColor, ...]] = {}
    for image_id, outcome in outcomes.items():
        result = outcome.result() if isinstance(outcome, Future) else outcome
        if isinstance(result, str):
            summary.skip(image_id=image_id, reason=result)
        else:
            colors_by_image[image_id] = result
    services.replace_colors(colors_by_image=colors_by_image)
    summary.rewritten += len(colors_by_image)
    on_batch(len(outcomes))
