import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from bench.color_truth import evaluate
from gallery.colors import (
    MAX_COLORS,
    MAX_HUED_COLORS,
    DominantColor,
    dominant_colors,
    hue_distance,
    is_monochrome,
    pin_native_threads,
    to_srgb,
)
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


def test_a_busy_photo_gives_at_most_the_maximum_of_colors_largest_share_first():
    colors = dominant_colors(make.photo_like_image(width=400, height=300, seed=3))

    assert 1 <= len(colors) <= MAX_COLORS
    assert [color.share for color in colors] == sorted((color.share for color in colors), reverse=True)


def test_a_rainbow_gives_at_most_the_maximum_of_hued_colors():
    stripes = Image.new("RGB", (80, 64))
    for index, color in enumerate(["red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta"]):
        stripes.paste(Image.new("RGB", (10, 64), color), (index * 10, 0))

    colors = dominant_colors(stripes)

    assert len([color for color in colors if color.hue is not None]) == MAX_HUED_COLORS


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


@pytest.mark.parametrize(
    ("areas", "expected"),
    [
        ({(230, 40, 40): 0.5, (40, 90, 220): 0.3, (245, 245, 245): 0.2}, {0: 0.5, 225: 0.3}),
        ({(250, 180, 20): 0.12, (128, 128, 128): 0.88}, {41: 0.12}),
        ({(30, 160, 60): 0.07, (20, 20, 20): 0.93}, {135: 0.07}),
        (
            {(120, 40, 200): 0.25, (40, 200, 200): 0.25, (200, 200, 40): 0.25, (10, 10, 10): 0.25},
            {272: 0.25, 180: 0.25, 60: 0.25},
        ),
    ],
)
def test_color_areas_give_their_hues_with_shares_within_two_points(areas, expected):
    colors = dominant_colors(make.areas_image(areas))

    for hue, share in expected.items():
        [color] = [color for color in colors if color.hue is not None and hue_distance(color.hue, hue) <= 2]
        assert color.share == pytest.approx(share, abs=0.02)
    # Where two areas meet, the downsample blends a column of pixels into a sliver of some third hue.
    assert len([color for color in colors if color.hue is not None and color.share > 0.03]) == len(expected)


@pytest.mark.parametrize(
    "grey",
    [
        (176, 190, 212),  # a pale blue-grey sky: HSV saturation 0.17
        (150, 140, 120),  # greige: HSV saturation 0.2, chroma 12
        (165, 150, 125),  # warm grey: HSV saturation 0.24, chroma 17
        (60, 60, 75),  # slate: HSV saturation 0.2
        (40, 36, 30),  # near black with a tint
        (250, 240, 228),  # off-white
    ],
)
def test_colors_a_person_sees_as_grey_never_get_a_hue(grey):
    colors = dominant_colors(make.areas_image({grey: 0.8, (255, 255, 255): 0.2}))

    assert is_monochrome(colors)
    assert sum(color.share for color in colors) == pytest.approx(1.0)


def test_a_color_covering_less_than_the_match_share_is_listed_under_it():
    colors = dominant_colors(make.areas_image({(0, 120, 255): 0.08, (235, 235, 235): 0.92}))

    [blue] = [color for color in colors if color.hue is not None]
    assert blue.share < 0.1
    assert blue.share == pytest.approx(0.08, abs=0.02)


def test_a_wide_band_of_hues_is_drawn_by_colors_whose_windows_cover_only_the_band():
    gradient = Image.fromarray(
        np.array([[[hue * 255 // 360, 255, 230] for hue in range(60, 181)]] * 60, dtype=np.uint8), "HSV"
    ).convert("RGB")

    hues = sorted(color.hue for color in dominant_colors(gradient) if color.hue is not None)

    assert all(75 - 3 <= hue <= 165 + 3 for hue in hues)
    covered = {degree for hue in hues for degree in range(hue - 15, hue + 16)}
    assert set(range(64, 177)) <= covered


@pytest.mark.parametrize("turn", [60, 95, 150])
def test_turning_every_hue_turns_the_colors_by_as_much(turn):
    image = make.areas_image({(220, 60, 30): 0.4, (30, 110, 200): 0.35, (240, 240, 235): 0.25})
    turned = Image.fromarray(
        ((np.asarray(image.convert("HSV")).astype(np.int32) + np.array([round(turn * 256 / 360), 0, 0])) % 256).astype(
            np.uint8
        ),
        "HSV",
    ).convert("RGB")

    before = [color.hue for color in dominant_colors(image) if color.hue is not None]
    after = [color.hue for color in dominant_colors(turned) if color.hue is not None]

    assert len(after) == len(before)
    assert all(
        hue_distance(hue_after, (hue_before + turn) % 360) <= 3
        for hue_before, hue_after in zip(before, after, strict=True)
    )


ADOBE_RGB = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"  # Debian's icc-profiles-free
PRO_PHOTO_RGB = "/usr/share/color/icc/colord/ProPhotoRGB.icc"  # Debian's colord-data
SWOP_CMYK = "/usr/share/color/icc/ghostscript/default_cmyk.icc"  # Debian's libgs-common
SRGB = "/usr/share/color/icc/sRGB.icc"


def hues(image: Image.Image) -> list[int]:
    return [color.hue for color in dominant_colors(image) if color.hue is not None]


@pytest.mark.parametrize("profile_path", [ADOBE_RGB, PRO_PHOTO_RGB])
def test_a_wide_gamut_picture_gets_the_hues_of_the_srgb_picture_it_shows(profile_path):
    # A green and a magenta whose wide-gamut numbers, read as sRGB, are 28° and 7° off.
    picture = make.areas_image({(40, 200, 60): 0.5, (200, 40, 160): 0.5})
    wide = make.in_profile(picture, profile_path=profile_path)

    converted = to_srgb(wide)

    assert [hue_distance(a, b) <= 2 for a, b in zip(hues(converted), hues(picture), strict=True)] == [True, True]
    assert hue_distance(hues(wide)[0], 128) > 20  # what the picture would get unconverted


def test_a_cmyk_picture_is_converted_through_its_profile():
    # Colours inside the printing gamut; the teal's ink percentages, read naively, are 25° off.
    picture = make.areas_image({(20, 150, 140): 0.6, (200, 110, 40): 0.4})
    cmyk = make.in_profile(picture, profile_path=SWOP_CMYK, mode="CMYK")

    converted = to_srgb(cmyk)

    assert converted.mode == "RGB"
    assert [hue_distance(a, b) <= 3 for a, b in zip(hues(converted), hues(picture), strict=True)] == [True, True]
    assert hue_distance(hues(cmyk.convert("RGB"))[0], 175) > 20


@pytest.mark.parametrize("profile_path", [SRGB, None])
def test_srgb_and_untagged_pictures_are_left_as_they_are(profile_path):
    picture = make.areas_image({(40, 200, 60): 0.5, (200, 40, 160): 0.5})
    if profile_path:
        picture.info["icc_profile"] = ImageCms.getOpenProfile(profile_path).tobytes()

    assert to_srgb(picture) is picture


@pytest.mark.parametrize("embedded", [b"not a profile", b"acsp" * 40, b"\0" * 128])
def test_a_broken_profile_is_ignored_with_a_log_line(embedded, caplog):
    picture = make.areas_image({(40, 200, 60): 0.5, (200, 40, 160): 0.5})
    picture.info["icc_profile"] = embedded

    with caplog.at_level("WARNING", logger="gallery.colors"):
        converted = to_srgb(picture)

    assert converted is picture
    assert "ICC profile" in caplog.text


REPOSITORY = Path(__file__).resolve().parents[2]


def test_hue_matching_on_real_photographs_is_no_worse_than_the_committed_baseline():
    baseline = json.loads((REPOSITORY / "bench" / "color_truth_baseline.json").read_text())["sample"]

    figures = evaluate(sorted((REPOSITORY / "tests" / "gallery" / "photos").glob("*.jpg")), turned_every=1).as_dict()

    assert figures["photos"] == baseline["photos"]
    assert figures["precision"] >= baseline["precision"]  # both rounded to 4 places
    assert figures["recall"] >= baseline["recall"]
    assert figures["turned_found"] >= baseline["turned_found"]
