"""How well an image's palette covers asked colours in the asked proportions. Pure: no Django.

A hued colour's share counts the pixels within ±15° of its hue (gallery.colors). An asked hue
`d` degrees away shares `(30 - d) / 30` of that 30° window, so, taking the pixels as spread evenly
over it, the colour holds about `share × (1 - d / 30)` of the image near the asked hue; colours
30° or more away hold none. With saturation and value asked, that amount shrinks linearly with
their distance, to nothing at `TONE_TOLERANCE`. An asked colour's coverage is the most any one of
the image's colours holds (the colours' windows may overlap, so their shares do not add up).

The score weighs, for each asked colour, the ratio of the smaller to the larger of its coverage
and its asked share: 1 when the image has exactly the asked 60% of teal, 2/3 for 90% or 40%.
"""

from collections.abc import Iterable, Sequence

from gallery.colors import hue_distance
from gallery.palette_search.query import AskedColor

# Degrees from an asked hue at which a colour stops counting: one window's width.
HUE_REACH = 30
# Saturation or value (0–1) away from the asked one at which a colour stops counting.
TONE_TOLERANCE = 0.5
# An image is a candidate when one of its colours within reach of an asked hue holds at least this
# fraction of that colour's weight: the others score at most half of that colour's weight for it,
# and listing them all would mean most of a large catalogue for a common hue.
CANDIDATE_FRACTION = 0.5

# [hue or None, saturation, value, share]: an image's stored palette.
PaletteEntry = Sequence[float | int | None]


def held_near(*, hue: int, saturation: float, value: float, share: float, asked: AskedColor) -> float:
    """The share of the image one colour holds near the asked colour."""
    closeness = _falling(hue_distance(hue, asked.hue), reach=HUE_REACH)
    if asked.saturation is not None:
        closeness *= _falling(abs(saturation - asked.saturation), reach=TONE_TOLERANCE)
    if asked.value is not None:
        closeness *= _falling(abs(value - asked.value), reach=TONE_TOLERANCE)
    return share * closeness


def _falling(distance: float, *, reach: float) -> float:
    """1 at no distance, falling linearly to 0 at `reach` and beyond."""
    return max(0.0, 1 - distance / reach)


def coverage(palette: Iterable[PaletteEntry], *, asked: AskedColor) -> float:
    """The share of the image near the asked colour, estimated from its palette."""
    return max(
        (
            held_near(hue=int(hue), saturation=float(saturation), value=float(value), share=float(share), asked=asked)
            for hue, saturation, value, share in palette
            if hue is not None and saturation is not None and value is not None and share is not None
        ),
        default=0.0,
    )


def score(coverages: Sequence[float], *, asked: Sequence[AskedColor]) -> float:
    """0–1: the asked colours' weights, each times how near its coverage is to its asked share."""
    total = sum(color.weight for color in asked)
    matched = sum(
        color.weight * min(held, color.weight) / max(held, color.weight)
        for held, color in zip(coverages, asked, strict=True)
    )
    return matched / total


def palette_score(palette: Iterable[PaletteEntry], *, asked: Sequence[AskedColor]) -> float:
    """The score of one image from its stored palette: what a live stream checks a new upload with."""
    entries = list(palette)
    return score([coverage(entries, asked=color) for color in asked], asked=asked)


def is_candidate(colors: Iterable[Sequence[float | int | None]], *, asked: Sequence[AskedColor]) -> bool:
    """Whether a search for `asked` lists an image of these [hue, share] colours at all (CANDIDATE_FRACTION).

    What a live stream checks a new upload with: hue and share decide it, as live events carry them.
    """
    return any(
        hue is not None
        and share is not None
        and hue_distance(int(hue), color.hue) < HUE_REACH
        and float(share) >= color.weight * CANDIDATE_FRACTION
        for hue, share in colors
        for color in asked
    )
