import pytest

from gallery.palette_search.query import AskedColor, PaletteQueryError, parse_colors


def test_hue_weight_pairs_become_asked_colors_with_weights_as_shares():
    assert parse_colors("180:60,30:20") == [AskedColor(hue=180, weight=0.6), AskedColor(hue=30, weight=0.2)]


def test_saturation_and_value_can_be_asked_for_as_percentages():
    assert parse_colors(" 210:40:30:90 ") == [AskedColor(hue=210, weight=0.4, saturation=0.3, value=0.9)]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "hue:weight pairs"),
        ("180:60,", "hue:weight pairs"),
        ("0:10,90:10,180:10,270:10", "at most 3 colours, got 4"),
        ("180", "must be hue:weight or hue:weight:saturation:value"),
        ("180:60:50", "must be hue:weight or hue:weight:saturation:value"),
        ("360:60", "hue must be between 0 and 359"),
        ("teal:60", "hue must be a whole number"),
        ("180:0", "weight must be between 1 and 100"),
        ("180:60.5", "weight must be a whole number"),
        ("180:60:101:50", "saturation must be between 0 and 100"),
        ("180:60,30:50", "weights add up to more than 100"),
    ],
)
def test_bad_colors_are_refused_with_the_reason(raw, reason):
    with pytest.raises(PaletteQueryError, match=reason):
        parse_colors(raw)
