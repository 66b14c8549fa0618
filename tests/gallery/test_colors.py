import os
import warnings

import pytest
from PIL import Image

from gallery.colors import DominantColor, dominant_colors, hue_distance, is_monochrome, pin_native_threads
from tests.gallery import images as make


def test_sixty_forty_red_blue_split_gives_two_hues_with_shares():
    colors = dominant_colors(
        make.split_image(first=(255, 0, 0), second=(0, 0, 255), first_share=0.6, width=200, height=100)
    )

    assert [color.hue for color in colors[:2]] == [0, 240]
    assert colors[0].share == pytest.approx(0.6, abs=0.03)
    assert colors[1].share == pytest.approx(0.4, abs=0.03)


def test_a_solid_color_is_one_color_covering_everything():
    [color] = dominant_colors(Image.new("RGB", (300, 200), (0, 200, 0)))

    assert color.hue == 120
    assert color.share == pytest.approx(1.0)
    assert color.saturation == pytest.approx(1.0)
    assert color.value == pytest.approx(200 / 255, abs=0.01)


@pytest.mark.parametrize("color", ["white", "black", (128, 128, 128), (250, 245, 240), (20, 10, 10)])
def test_white_black_and_grey_images_are_monochrome(color):
    colors = dominant_colors(Image.new("RGB", (120, 80), color))

    assert colors and colors[0].hue is None
    assert is_monochrome(colors)


def test_boring_colors_are_listed_with_their_share():
    colors = dominant_colors(make.split_image(first="white", second=(0, 160, 255), first_share=0.7))

    assert colors[0].hue is None and colors[0].share == pytest.approx(0.7, abs=0.03)
    assert colors[1].hue == pytest.approx(202, abs=2)
    assert not is_monochrome(colors)


@pytest.mark.parametrize("hue", [355, 359, 0, 5])
def test_a_pure_hue_near_red_keeps_its_side_of_the_wrap(hue):
    [color] = dominant_colors(Image.new("RGB", (64, 64), f"hsv({hue}, 100%, 100%)"))

    assert color.hue is not None
    assert hue_distance(color.hue, hue) <= 1
    assert 0 <= color.hue <= 359


@pytest.mark.parametrize(
    ("a", "b", "distance"), [(355, 5, 10), (5, 355, 10), (0, 180, 180), (90, 100, 10), (0, 359, 1), (270, 270, 0)]
)
def test_hue_distance_goes_the_short_way_round(a, b, distance):
    assert hue_distance(a, b) == distance


def test_a_busy_photo_gives_at_most_four_colors_with_shares_summing_to_at_most_one():
    colors = dominant_colors(make.photo_like_image(width=400, height=300, seed=3))

    assert 1 <= len(colors) <= 4
    assert sum(color.share for color in colors) <= 1 + 1e-9
    assert [color.share for color in colors] == sorted((color.share for color in colors), reverse=True)


def test_many_distinct_colors_still_give_at_most_four():
    stripes = Image.new("RGB", (80, 64))
    for index, color in enumerate(["red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta"]):
        stripes.paste(Image.new("RGB", (10, 64), color), (index * 10, 0))

    colors = dominant_colors(stripes)

    assert len(colors) == 4
    assert sum(color.share for color in colors) <= 1 + 1e-9


def test_fewer_colors_can_be_asked_for():
    stripes = make.split_image(first="red", second="blue", first_share=0.5)

    assert len(dominant_colors(stripes, max_colors=1)) == 1


def test_images_with_fewer_distinct_colors_than_clusters_raise_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dominant_colors(Image.new("RGB", (50, 50), "red"))
        dominant_colors(make.split_image(first="red", second="blue", first_share=0.5))
        dominant_colors(make.photo_like_image(width=200, height=100))


def test_the_same_image_always_gives_the_same_colors():
    image = make.photo_like_image(width=300, height=200, seed=7)

    assert dominant_colors(image) == dominant_colors(image.copy())


def test_near_identical_shades_count_as_one_color():
    shades = make.split_image(first=(200, 30, 30), second=(203, 32, 29), first_share=0.5)

    [color] = dominant_colors(shades)

    assert color.share == pytest.approx(1.0)


def test_images_in_other_modes_are_read_as_rgb():
    [color] = dominant_colors(Image.new("RGB", (40, 40), (0, 0, 255)).convert("P"))

    assert color.hue == 240


def test_monochrome_means_no_color_has_a_hue():
    grey = DominantColor(hue=None, saturation=0.0, value=0.5, share=0.9)
    red = DominantColor(hue=0, saturation=1.0, value=1.0, share=0.1)

    assert is_monochrome([grey])
    assert not is_monochrome([grey, red])


def test_pinning_native_threads_sets_single_thread_defaults(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")

    pin_native_threads()

    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"  # an operator's explicit choice stands
