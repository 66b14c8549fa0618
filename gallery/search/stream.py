"""The search stream: a scroller connection streaming the images that match a query, best first (reads only).

It keeps the rules of the hue stream (gallery.realtime.hue_stream): batches, never the same image twice
within a cycle, a new cycle (from the best match again) once every match was handed out, live
uploads that match pushed to the client and not handed out again that cycle. Its walk is the
ranked walk of gallery.search.selectors, read on incrementally, so a cycle never loads the
whole result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gallery.realtime.stream import NEXT_BATCH_SIZE, PUSHED_MEMORY, SENT_MEMORY, RecentIds, StreamedImage, load_images
from gallery.search.selectors import Hit, RankedWalk, SearchFilters, matching_image_ids, start_walk

# Hits held beyond the batch, as in the hue stream: a batch that finds fewer reads first;
# reading ahead tops them up to LOOKAHEAD_HIGH.
LOOKAHEAD_LOW = 20
LOOKAHEAD_HIGH = 60


@dataclass
class SearchReadAhead:
    walk: RankedWalk
    advanced: RankedWalk
    hits: list[Hit]


@dataclass
class SearchStream:
    """A stream of the images matching `text` (and `hue`, if given), best first (the Stream interface)."""

    matches_by_index: ClassVar[bool] = True

    text: str
    filters: SearchFilters
    walk: RankedWalk
    cycle: int = 0
    shown_in_cycle: int = 0
    lookahead: list[Hit] = field(default_factory=list)
    pushed: RecentIds = field(default_factory=lambda: RecentIds(limit=PUSHED_MEMORY))
    sent: RecentIds = field(default_factory=lambda: RecentIds(limit=SENT_MEMORY))

    def describe(self) -> dict[str, Any]:
        return {"q": self.text, "hue": self.filters.hue, "cycle": self.cycle}

    def next_batch(self, *, viewer, size: int, may_walk: bool = True) -> list[StreamedImage]:
        """Up to `size` images, best first; short at the end of a cycle, empty only when nothing matches."""
        while True:
            if may_walk:
                if self.walk.finished and not self.lookahead and self.shown_in_cycle:
                    self._start_cycle()
                self._refill(target=size + LOOKAHEAD_LOW)
            chosen, self.lookahead = self.lookahead[:size], self.lookahead[size:]
            if chosen:
                images = load_images(image_ids=[hit.image_id for hit in chosen], viewer=viewer)
                if images:
                    self.shown_in_cycle += len(images)
                    for streamed in images:
                        self.sent.add(streamed.card.id)
                    return images
                continue
            if not may_walk or not self.shown_in_cycle:
                if may_walk:
                    # Nothing matches; the next request searches again from the top.
                    self._start_walk()
                return []

    def can_serve(self, *, size: int) -> bool:
        return len(self.lookahead) >= size

    def needs_read_ahead(self) -> bool:
        return not self.walk.finished and len(self.lookahead) < NEXT_BATCH_SIZE + LOOKAHEAD_LOW

    def read_ahead(self, *, viewer) -> SearchReadAhead:
        """Read the next hits on a copy of the walk: batches may be served from the lookahead meanwhile."""
        advanced = copy.deepcopy(self.walk)
        hits = advanced.take(NEXT_BATCH_SIZE + LOOKAHEAD_HIGH - len(self.lookahead))
        return SearchReadAhead(walk=self.walk, advanced=advanced, hits=hits)

    def apply_read_ahead(self, result: object) -> None:
        assert isinstance(result, SearchReadAhead)
        if self.walk is not result.walk:
            return
        self.walk = result.advanced
        self.lookahead += [hit for hit in result.hits if hit.image_id not in self.pushed]

    def matching_live(self, *, announced: list[dict]) -> list[int]:
        return matching_image_ids(text=self.text, image_ids=[item["id"] for item in announced], hue=self.filters.hue)

    def mark_pushed(self, *, image_ids: set[int]) -> None:
        for image_id in image_ids:
            self.pushed.add(image_id)
        self.lookahead = [hit for hit in self.lookahead if hit.image_id not in image_ids]

    def _refill(self, *, target: int) -> None:
        # A new walk object, so that a read-ahead begun on the old one is not taken in after this.
        if len(self.lookahead) >= target or self.walk.finished:
            return
        self.walk = copy.deepcopy(self.walk)
        while len(self.lookahead) < target and not self.walk.finished:
            self.lookahead += [
                hit for hit in self.walk.take(target - len(self.lookahead)) if hit.image_id not in self.pushed
            ]

    def _start_cycle(self) -> None:
        self.cycle += 1
        self.shown_in_cycle = 0
        self.pushed.clear()
        self._start_walk()

    def _start_walk(self) -> None:
        self.walk = start_walk(text=self.text, filters=self.filters)
        self.lookahead = []


def start_search_stream(*, text: str, viewer, hue: int | None = None, sent: RecentIds | None = None) -> SearchStream:
    """A fresh stream of the matches of `text` (and of `hue`); `sent` carries over what the client was already shown."""
    filters = SearchFilters.of(viewer=viewer, hue=hue)
    stream = SearchStream(text=text, filters=filters, walk=start_walk(text=text, filters=filters))
    if sent is not None:
        stream.sent = sent
    return stream
