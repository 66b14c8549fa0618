"""A small reader of WordNet's noun database (Debian's wordnet-base), offline: synonyms and broader terms of a synset.

Only what the index needs: a synset's lemmas and its hypernyms, by the offset that an
ImageNet WordNet id names (n02123045 is offset 2123045 of data.noun), plus the irregular
plurals of noun.exc. The offset is the byte position of the synset's line in data.noun,
so a look-up is a seek in a memory map. nltk's WordNet reader was tried first: it reads
every index file at start-up (10 s and 200 MB per process here) for features we do not use.
"""

from __future__ import annotations

import functools
import logging
import mmap
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from gallery.search.loading import load_once

logger = logging.getLogger(__name__)

HYPERNYM_POINTERS = frozenset({"@", "@i"})


@dataclass(frozen=True, slots=True)
class Synset:
    lemmas: tuple[str, ...]
    hypernyms: tuple[int, ...]


class WordNet:
    """The noun synsets of one WordNet database directory."""

    def __init__(self, directory: Path) -> None:
        with open(directory / "data.noun", "rb") as data:
            self._data = mmap.mmap(data.fileno(), 0, access=mmap.ACCESS_READ)

    @functools.lru_cache(maxsize=20000)  # noqa: B019 - one instance per process, kept for its life
    def synset(self, offset: int) -> Synset:
        """Raises KeyError when no synset starts at `offset`."""
        if not 0 <= offset < len(self._data):
            raise KeyError(offset)
        end = self._data.find(b"\n", offset)
        fields = self._data[offset : end if end >= 0 else len(self._data)].decode("utf-8").split(" ")
        if fields[0] != f"{offset:08d}" or fields[2] != "n":
            raise KeyError(offset)
        word_count = int(fields[3], 16)
        lemmas = tuple(fields[4 + 2 * index].replace("_", " ") for index in range(word_count))
        position = 4 + 2 * word_count
        pointer_count = int(fields[position])
        pointers = [fields[position + 1 + 4 * index : position + 5 + 4 * index] for index in range(pointer_count)]
        hypernyms = tuple(
            int(target) for symbol, target, pos, _ in pointers if symbol in HYPERNYM_POINTERS and pos == "n"
        )
        return Synset(lemmas=lemmas, hypernyms=hypernyms)

    def broader(self, offset: int, *, max_distance: int) -> dict[int, int]:
        """The synset and every hypernym up to `max_distance` steps up, each with its shortest distance."""
        distances = {offset: 0}
        queue = deque([offset])
        while queue:
            current = queue.popleft()
            if distances[current] == max_distance:
                continue
            for parent in self.synset(current).hypernyms:
                if parent not in distances:
                    distances[parent] = distances[current] + 1
                    queue.append(parent)
        return distances


def offset_of(wnid: str) -> int:
    """The data.noun offset an ImageNet id (n02123045) names; raises ValueError for anything else."""
    if len(wnid) != 9 or wnid[0] != "n" or not wnid[1:].isdigit():
        raise ValueError(f"not a WordNet noun id: {wnid!r}")
    return int(wnid[1:])


@load_once
def wordnet() -> WordNet | None:
    """The process's WordNet, or None (logged once) when the database is not installed."""
    directory = Path(settings.SCROLLER_WORDNET_DIR)
    try:
        return WordNet(directory)
    except OSError as problem:
        logger.error(
            "WordNet not readable in %s (%s): labels are searchable by their own names only; install wordnet-base",
            directory,
            problem,
        )
        return None


@load_once
def irregular_plurals() -> dict[str, str]:
    """noun.exc: plural -> singular for nouns whose plural no suffix rule undoes (geese -> goose)."""
    try:
        text = (Path(settings.SCROLLER_WORDNET_DIR) / "noun.exc").read_text(encoding="utf-8")
    except OSError:
        return {}
    plurals = {}
    for line in text.splitlines():
        inflected, base, *_ = line.split(" ")
        if "_" not in inflected:
            plurals[inflected] = base
    return plurals


@load_once
def noun_lemmas() -> frozenset[str]:
    """Every noun WordNet knows (index.noun), with spaces between words: what undoing a plural must arrive at."""
    try:
        with open(Path(settings.SCROLLER_WORDNET_DIR) / "index.noun", encoding="utf-8") as index:
            return frozenset(line.split(" ", 1)[0].replace("_", " ") for line in index if not line.startswith(" "))
    except OSError:
        return frozenset()
