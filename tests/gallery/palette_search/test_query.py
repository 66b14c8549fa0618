import pytest

from gallery.palette_search.query import (
    AskedColor,
    PaletteQueryError,
    as_message,
    colors_from_message,
    colors_like,
    parse_colors,
)


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


def test_the_websocket_asks_with_objects_and_batches_repeat_them_as_asked():
    raw = [{"hue": 180, "weight": 60}, {"hue": 210, "weight": 30, "saturation": 25, "value": 90}]

    asked = colors_from_message(raw)

    assert asked == [AskedColor(hue=180, weight=0.6), AskedColor(hue=210, weight=0.3, saturation=0.25, value=0.9)]
    assert as_message(asked) == raw


def test_an_images_own_palette_becomes_a_query_of_its_largest_hued_colors():
    palette = [
        [180, 0.7, 0.6, 0.55],
        [None, 0.0, 0.9, 0.3],
        [30, 0.8, 0.9, 0.1],
        [300, 0.5, 0.5, 0.02],
        [90, 1, 1, 0.01],
    ]

    assert colors_like(palette) == "180:55,30:10,300:2"
    assert colors_like([[None, 0.0, 0.5, 1.0]]) is None


def test_overlapping_shares_shrink_to_fit_the_whole_picture():
    assert colors_like([[180, 0.7, 0.6, 0.9], [195, 0.7, 0.6, 0.6]]) == "180:60,195:40"
