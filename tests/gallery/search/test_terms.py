from gallery.search import terms
from tests.gallery.labelled import ESPRESSO, SPORTS_CAR, TABBY, labels


def test_plurals_and_case_are_undone_the_same_way_in_queries_and_texts():
    assert terms.words("Cats, GEESE and buses; Puppies horses") == ["cat", "goose", "bus", "puppy", "horse"]
    assert terms.query_terms("Tabby Cats") == ["tabby cat"]


def test_a_query_reads_known_phrases_as_one_term_and_drops_stop_words():
    assert terms.query_terms("the red sports cars") == ["red", "sport car"]
    assert terms.query_terms("light blue sky") == ["light blue", "sky"]
    assert terms.query_terms("a xyzzy") == ["xyzzy"]


def test_labels_bring_their_synonyms_and_broader_terms_weaker_the_further_up():
    weights = terms.label_terms(labels((TABBY, 0.8)))

    assert weights["tabby"] == weights["tabby cat"] == 0.8
    assert weights["house cat"] > weights["cat"] > weights["animal"] > weights["organism"]


def test_labels_under_one_broader_term_add_up():
    one = terms.label_terms(labels((ESPRESSO, 0.3)))
    two = terms.label_terms(labels((ESPRESSO, 0.3), ({"name": "cappuccino", "wnid": "n07920872"}, 0.3)))

    assert two["coffee"] > one["coffee"]


def test_colors_are_named_with_their_shade_and_small_ones_are_left_out():
    palette: list[tuple[int | None, float, float, float]] = [
        (0, 0.9, 0.9, 0.5),
        (None, 0.05, 0.95, 0.3),
        (210, 0.3, 0.9, 0.15),
        (30, 0.8, 0.4, 0.05),
    ]

    assert terms.palette_terms(palette, min_share=0.1) == {"red": 0.5, "white": 0.3, "blue": 0.15, "light blue": 0.15}
    assert terms.color_names(hue=30, saturation=0.8, value=0.4) == ("brown", "dark brown")
    assert terms.color_names(hue=None, saturation=0.0, value=0.1) == ("black",)
    assert terms.color_names(hue=175, saturation=0.7, value=0.7) == ("teal",)


def test_the_broadest_wordnet_terms_are_left_out_and_the_discriminating_ones_kept():
    cat = terms.label_terms(labels((TABBY, 0.8)))
    car = terms.label_terms(labels((SPORTS_CAR, 0.8)))

    assert {"animal", "organism", "cat"} <= cat.keys()
    assert {"vehicle", "car"} <= car.keys()
    assert not {"entity", "physical entity", "object", "whole", "artifact"} & (cat.keys() | car.keys())
