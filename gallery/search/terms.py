"""What an image is indexed under, and what a query asks for: terms with weights (pure, no database).

A term is a lower-case word or phrase in a normal form (plurals undone by the same rules on
both sides), so "Cats" in a query meets "cat" from a label. An image's terms come from:

* its labels and, through WordNet, each label's synonyms (distance 0) and broader terms
  (hypernyms, distance 1, 2, ...), weighted by the label's probability times
  BROADER_DECAY ** distance, summed over its labels (five dog breeds at 0.15 make it a
  dog at 0.75), at most 1; except the broader terms too broad to tell images apart
  (too_broad_synsets: "entity", "object", "whole", "artifact");
* the words of its description, weighted DESCRIPTION_WEIGHT, and the phrases among them
  that WordNet knows ("tabby cat"), so that a phrase query finds them too;
* the words and phrases of its file name, FILENAME_WEIGHT;
* colour words for each dominant colour covering at least SCROLLER_MIN_MATCH_SHARE,
  weighted by the share the colour covers ("blue", and "light blue" or "dark blue").

Weights are stored as integers out of WEIGHT_SCALE, so that ranking and paging compare
exact numbers on every database.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from gallery.search.loading import load_once
from gallery.search.wordnet import irregular_plurals, noun_lemmas, offset_of, wordnet

WEIGHT_SCALE = 10000
BROADER_DECAY = 0.85
MAX_BROADER_DISTANCE = 14
DESCRIPTION_WEIGHT = 1.0
FILENAME_WEIGHT = 0.8
MAX_TERM_LENGTH = 100
# Broader terms of unlikely labels weigh less than this and are left out of the index.
MIN_WEIGHT = 0.005
# A broader term is left out when more than this share of the classifier's classes are kinds of it: it
# would be on most images, where it ranks nothing and makes the index larger and its scans longer.
MAX_BROAD_CLASS_SHARE = 0.5
CLASSES_FILE = Path(__file__).resolve().parent.parent / "labels" / "imagenet_classes.tsv"
# Longest phrase, in words, a query is matched against.
MAX_PHRASE_WORDS = 3

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
    ]
)
WORD = re.compile(r"[^\W_]+")

# Hue ranges (start inclusive) of the colour words; red wraps past 0°.
HUE_NAMES = (
    (15, "orange"),
    (45, "yellow"),
    (70, "green"),
    (165, "teal"),
    (200, "blue"),
    (255, "purple"),
    (290, "pink"),
    (340, "red"),
)
COLOR_WORDS = frozenset(
    {"red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown", "black", "white", "grey"}
)
COLOR_SYNONYMS = {"gray": "grey", "violet": "purple", "cyan": "teal", "turquoise": "teal", "magenta": "pink"}
SHADES = frozenset({"light", "dark"})


def words(text: str) -> list[str]:
    """The words of `text`, lower-case, in the normal form of terms; stop words left out."""
    return [normal_word(word) for word in WORD.findall(text.lower()) if word not in STOP_WORDS]


# How English nouns make their plurals, undone (WordNet's morphy rules for nouns).
PLURAL_SUFFIXES = (
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
    ("s", ""),
)


def normal_word(word: str) -> str:
    """A lower-case word with its plural undone, as WordNet's morphy does for nouns.

    An irregular plural (noun.exc) gives its singular; a word WordNet knows as a noun stays
    as it is ("glasses"); otherwise the first suffix rule that yields a known noun applies
    ("buses" -> "bus", "horses" -> "horse"); a word WordNet does not know stays as it is.
    """
    word = COLOR_SYNONYMS.get(word, word)
    plurals = irregular_plurals()
    if word in plurals:
        return plurals[word]
    lemmas = noun_lemmas()
    if word in lemmas or not word.isalpha():
        return word
    for suffix, ending in PLURAL_SUFFIXES:
        if word.endswith(suffix) and (base := word[: -len(suffix)] + ending) in lemmas:
            return base
    return word


def normal_phrase(text: str) -> str:
    return " ".join(normal_word(word) for word in WORD.findall(text.lower()))[:MAX_TERM_LENGTH]


def color_names(*, hue: int | None, saturation: float, value: float) -> tuple[str, ...]:
    """The colour words of one colour: its name and, when it is clearly light or dark, that shade of it."""
    if value < 0.2:
        return ("black",)
    if hue is None or saturation < 0.15:
        if value > 0.85:
            return ("white",)
        return ("grey", "light grey") if value > 0.65 else ("grey", "dark grey") if value < 0.4 else ("grey",)
    name = next((name for start, name in reversed(HUE_NAMES) if hue >= start), "red")
    if name in {"orange", "red", "yellow"} and value < 0.6 and saturation > 0.3:
        name = "brown"
    if value < 0.45:
        return (name, f"dark {name}")
    if saturation < 0.45 and value > 0.7:
        return (name, f"light {name}")
    return (name,)


def label_terms(labels: Sequence[dict]) -> dict[str, float]:
    """Terms of an image's labels: their synonyms and broader terms from WordNet, weighted (see the module)."""
    weights: dict[str, float] = defaultdict(float)
    for label in labels:
        probability = float(label["probability"])
        own: dict[str, float] = {normal_phrase(label["name"]): probability}
        for term, distance in broader_terms(label["wnid"]):
            own[term] = max(own.get(term, 0.0), probability * BROADER_DECAY**distance)
        for term, weight in own.items():
            weights[term] += weight
    return {term: min(weight, 1.0) for term, weight in weights.items() if term}


@functools.lru_cache(maxsize=4096)
def broader_terms(wnid: str) -> tuple[tuple[str, int], ...]:
    """The terms of a WordNet synset and of its hypernyms, each with its shortest distance up; none if unknown."""
    database = wordnet()
    if database is None:
        return ()
    try:
        broader = database.broader(offset_of(wnid), max_distance=MAX_BROADER_DISTANCE)
    except (KeyError, ValueError):
        return ()
    distances: dict[str, int] = {}
    too_broad = too_broad_synsets()
    for offset, distance in broader.items():
        if offset in too_broad:
            continue
        for lemma in database.synset(offset).lemmas:
            term = normal_phrase(lemma)
            distances[term] = min(distances.get(term, distance), distance)
    return tuple(distances.items())


@load_once
def too_broad_synsets() -> frozenset[int]:
    """The WordNet synsets that more than MAX_BROAD_CLASS_SHARE of the classifier's classes are kinds of.

    With ImageNet's classes: entity, physical entity, object, whole and artifact (52 %); animal (40 %) and
    organism (41 %) stay, since they still tell a cat from a car.
    """
    database = wordnet()
    if database is None:
        return frozenset()
    wnids = [
        line.split("\t", 1)[0]
        for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    counts: dict[int, int] = defaultdict(int)
    for wnid in wnids:
        for offset in database.broader(offset_of(wnid), max_distance=100):
            counts[offset] += 1
    return frozenset(offset for offset, count in counts.items() if count > MAX_BROAD_CLASS_SHARE * len(wnids))


@load_once
def known_phrases() -> frozenset[str]:
    """The phrases a query is read as one term: WordNet's nouns of several words, and the light and dark colours."""
    nouns = {normal_phrase(lemma) for lemma in noun_lemmas() if " " in lemma}
    shades = {f"{shade} {color}" for shade in SHADES for color in COLOR_WORDS}
    return frozenset(nouns | shades)


def phrases_in(found: list[str]) -> list[str]:
    """The words of `found` and the known phrases among its runs of adjacent words."""
    known = known_phrases()
    runs = (
        " ".join(found[start : start + length])
        for length in range(2, MAX_PHRASE_WORDS + 1)
        for start in range(len(found) - length + 1)
    )
    return [*found, *(phrase for phrase in runs if phrase in known)]


def text_terms(text: str, *, weight: float) -> dict[str, float]:
    """The words of a text and the known phrases in it, at `weight`."""
    return dict.fromkeys(phrases_in(words(text)), weight)


def palette_terms(palette: Iterable[Sequence], *, min_share: float) -> dict[str, float]:
    """Colour words of the dominant colours ([hue or None, saturation, value, share]) that cover at least `min_share`."""
    terms: dict[str, float] = defaultdict(float)
    for hue, saturation, value, share in palette:
        if share < min_share:
            continue
        for name in color_names(hue=hue, saturation=saturation, value=value):
            terms[name] += share
    return {term: min(weight, 1.0) for term, weight in terms.items()}


def image_terms(
    *,
    original_name: str,
    description: str,
    labels: Sequence[dict] | None,
    palette: Iterable[Sequence],
    min_share: float,
) -> dict[str, int]:
    """Every term of one image with its weight out of WEIGHT_SCALE; the strongest source of a term counts."""
    sources = [
        text_terms(os.path.splitext(original_name)[0], weight=FILENAME_WEIGHT),
        text_terms(description, weight=DESCRIPTION_WEIGHT),
        label_terms(labels or []),
        palette_terms(palette, min_share=min_share),
    ]
    merged: dict[str, float] = {}
    for source in sources:
        for term, weight in source.items():
            if len(term) <= MAX_TERM_LENGTH:
                merged[term] = max(merged.get(term, 0.0), weight)
    return {term: round(weight * WEIGHT_SCALE) for term, weight in merged.items() if weight >= MIN_WEIGHT}


def query_terms(text: str) -> list[str]:
    """The terms a query asks for, all of which an image must have: left to right, the longest known phrase
    starting at each word ("sports car", "light blue"), else the word itself; stop words dropped."""
    found = words(text)
    known = known_phrases()
    terms: list[str] = []
    start = 0
    while start < len(found):
        longest = min(MAX_PHRASE_WORDS, len(found) - start)
        options = [" ".join(found[start : start + length]) for length in range(longest, 1, -1)]
        chosen = next((phrase for phrase in options if phrase in known), found[start])
        terms.append(chosen)
        start += chosen.count(" ") + 1
    return list(dict.fromkeys(terms))
