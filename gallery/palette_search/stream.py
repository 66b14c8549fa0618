"""The palette stream: a scroller connection streaming the images whose palettes best cover asked colours.

It keeps the rules of the other streams (gallery.realtime.stream): batches, never the same image
twice within a cycle, a new cycle (from the best match again, ranked afresh) once every match
was handed out, and live uploads that match pushed to the client and not handed out again that
cycle. The ranking comes from the process's palette index (gallery.palette_search.index), as ids,
RANKED_AT_ONCE at a time (a broad palette has tens of thousands of candidates at 100,000 images,
and a thousand connections each holding all of theirs would hold hundreds of megabytes); the next
stretch is ranked after the last one's final (score, id). Whether the viewer may see an image is
asked of the database as each batch is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gallery.palette_search.index import Ranking, best, candidate_keys, palette_index
from gallery.palette_search.query import AskedColor, as_message
from gallery.palette_search.ranking import is_candidate
from gallery.realtime.stream import PUSHED_MEMORY, SENT_MEMORY, RecentIds, StreamedImage, load_images

# Candidates ranked at a time: a hundred batches or so.
RANKED_AT_ONCE = 1000


def rank_stretch(asked: list[AskedColor], *, after: tuple[float, int] | None = None) -> Ranking:
    """The next RANKED_AT_ONCE candidates after `after` (from the best without it), best first."""
    return best(candidate_keys(palette_index(), asked=asked), after=after, count=RANKED_AT_ONCE)


@dataclass
class PaletteStream:
    """A stream of the images whose palettes cover `asked`, best first (the Stream interface)."""

    matches_by_index: ClassVar[bool] = False

    asked: list[AskedColor]
    ranked: Ranking  # the current stretch of the ranking
    position: int = 0  # in `ranked`
    cycle: int = 0
    shown_in_cycle: int = 0
    pushed: RecentIds = field(default_factory=lambda: RecentIds(limit=PUSHED_MEMORY))
    sent: RecentIds = field(default_factory=lambda: RecentIds(limit=SENT_MEMORY))

    def describe(self) -> dict[str, Any]:
        return {"colors": as_message(self.asked), "cycle": self.cycle}

    def next_batch(self, *, viewer, size: int, may_walk: bool = True) -> list[StreamedImage]:
        """Up to `size` images, best first; short at the end of a cycle, empty only when nothing matches."""
        while True:
            self._next_stretch_if_used_up()
            if self._cycle_done():
                if self.shown_in_cycle:
                    self.cycle += 1
                    self.shown_in_cycle = 0
                    self.pushed.clear()
                # Also when nothing matched: uploads since may match now.
                self.ranked, self.position = rank_stretch(self.asked), 0
            images: list[StreamedImage] = []
            while len(images) < size and not self._cycle_done():
                self._next_stretch_if_used_up()
                images += load_images(image_ids=self._take(size - len(images)), viewer=viewer)
            if images or not self.shown_in_cycle:
                self.shown_in_cycle += len(images)
                for streamed in images:
                    self.sent.add(streamed.card.id)
                return images
            # What was left of the cycle was deleted or hidden meanwhile: on to the next cycle.

    def can_serve(self, *, size: int) -> bool:
        return True

    def needs_read_ahead(self) -> bool:
        return False

    def read_ahead(self, *, viewer) -> None:
        return None

    def apply_read_ahead(self, result: object) -> None:
        return None

    def matching_live(self, *, announced: list[dict]) -> list[int]:
        return [item["id"] for item in announced if is_candidate(item["colors"], asked=self.asked)]

    def mark_pushed(self, *, image_ids: set[int]) -> None:
        for image_id in image_ids:
            self.pushed.add(image_id)

    def _next_stretch_if_used_up(self) -> None:
        if self.position >= len(self.ranked) == RANKED_AT_ONCE:
            last = (float(self.ranked.scores[-1]), int(self.ranked.image_ids[-1]))
            self.ranked, self.position = rank_stretch(self.asked, after=last), 0

    def _cycle_done(self) -> bool:
        """Whether the ranking is read to its end: this stretch is used up and was the last (short) one."""
        return self.position >= len(self.ranked) and len(self.ranked) < RANKED_AT_ONCE

    def _take(self, count: int) -> list[int]:
        """The next `count` ids of this stretch not pushed live this cycle (fewer at its end)."""
        taken: list[int] = []
        while len(taken) < count and self.position < len(self.ranked):
            image_id = int(self.ranked.image_ids[self.position])
            self.position += 1
            if image_id not in self.pushed:
                taken.append(image_id)
        return taken


def start_palette_stream(*, asked: list[AskedColor], sent: RecentIds | None = None) -> PaletteStream:
    """A fresh stream of the images covering `asked`; `sent` carries over what the client was already shown."""
    stream = PaletteStream(asked=asked, ranked=rank_stretch(asked))
    if sent is not None:
        stream.sent = sent
    return stream
