import pytest

from gallery.palette_search.query import AskedColor
from gallery.palette_search.ranking import coverage, is_candidate, palette_score

TEAL_60_ORANGE_20 = [AskedColor(hue=180, weight=0.6), AskedColor(hue=30, weight=0.2)]


def test_a_palette_with_exactly_the_asked_proportions_scores_one():
    palette: list[list[float | None]] = [[180, 0.7, 0.6, 0.6], [30, 0.8, 0.9, 0.2], [None, 0.0, 0.9, 0.2]]

    assert palette_score(palette, asked=TEAL_60_ORANGE_20) == pytest.approx(1.0)


def test_proportions_nearer_the_asked_ones_score_higher():
    asked_proportions = [[180, 0.7, 0.6, 0.55], [30, 0.8, 0.9, 0.25]]
    swapped = [[180, 0.7, 0.6, 0.2], [30, 0.8, 0.9, 0.6]]
    teal_only = [[180, 0.7, 0.6, 0.6]]

    scores = [palette_score(palette, asked=TEAL_60_ORANGE_20) for palette in (asked_proportions, teal_only, swapped)]

    assert scores == sorted(scores, reverse=True)
    assert scores[1] == pytest.approx(0.75)  # the orange quarter of the asked weight is missing


def test_too_much_of_a_color_counts_against_it_like_too_little():
    twice = palette_score([[180, 0.7, 0.6, 0.8]], asked=[AskedColor(hue=180, weight=0.4)])
    half = palette_score([[180, 0.7, 0.6, 0.2]], asked=[AskedColor(hue=180, weight=0.4)])

    assert twice == pytest.approx(half) == pytest.approx(0.5)


@pytest.mark.parametrize(("hue", "asked_hue"), [(355, 5), (5, 355), (350, 0), (10, 0)])
def test_hues_are_compared_round_the_circle(hue, asked_hue):
    held = coverage([[hue, 0.8, 0.8, 0.6]], asked=AskedColor(hue=asked_hue, weight=0.6))

    assert held == pytest.approx(0.6 * (1 - 10 / 30))


def test_a_color_thirty_degrees_or_more_away_holds_nothing_near_the_asked_hue():
    assert coverage([[150, 0.8, 0.8, 0.9], [211, 0.8, 0.8, 0.9]], asked=AskedColor(hue=180, weight=0.5)) == 0.0


def test_grey_colors_never_cover_a_hue():
    assert coverage([[None, 0.05, 0.5, 1.0]], asked=AskedColor(hue=0, weight=0.5)) == 0.0


def test_overlapping_colors_are_not_added_up():
    palette = [[175, 0.8, 0.8, 0.5], [185, 0.8, 0.8, 0.5]]

    assert coverage(palette, asked=AskedColor(hue=180, weight=0.5)) == pytest.approx(0.5 * (1 - 5 / 30))


def test_asked_saturation_and_value_favour_colors_of_that_tone():
    pale = [180, 0.25, 0.9, 0.6]
    deep = [180, 0.9, 0.4, 0.6]
    asked = AskedColor(hue=180, weight=0.6, saturation=0.25, value=0.9)

    assert coverage([pale], asked=asked) == pytest.approx(0.6)
    assert coverage([deep], asked=asked) == 0.0
    assert palette_score([deep], asked=[AskedColor(hue=180, weight=0.6)]) == pytest.approx(1.0)


def test_a_candidate_has_a_color_within_reach_holding_half_an_asked_weight():
    asked = [AskedColor(hue=180, weight=0.6), AskedColor(hue=30, weight=0.2)]

    assert is_candidate([[200, 0.3]], asked=asked)
    assert is_candidate([[5, 0.1]], asked=asked)
    assert not is_candidate([[180, 0.29], [30, 0.09]], asked=asked)
    assert not is_candidate([[150, 0.9], [None, 0.9]], asked=asked)
