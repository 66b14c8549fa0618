import hashlib
import pickle
import random
import warnings

import pytest

from gallery.analysis import ImageAnalysis, ImageRejected, analyse_image
from gallery.thumbnails import decode_thumbnail
from tests.gallery import images as make

MAX_PIXELS = 64_000_000


def analyse(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageAnalysis:
    return analyse_image(data, max_pixels=max_pixels)


def rejection(data: bytes, *, max_pixels: int = MAX_PIXELS) -> str:
    with pytest.raises(ImageRejected) as rejected:
        analyse_image(data, max_pixels=max_pixels)
    return rejected.value.reason


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_every_supported_format_is_analysed(image_format):
    data = make.two_color_split(
        first=(255, 0, 0), second=(0, 0, 255), first_share=0.6, width=120, height=80, image_format=image_format
    )

    analysis = analyse(data)

    assert analysis.format == image_format
    assert (analysis.width, analysis.height) == (120, 80)
    assert (analysis.thumbnail_width, analysis.thumbnail_height) == (120, 80)
    assert analysis.sha256 == hashlib.sha256(data).hexdigest()
    assert [color.hue for color in analysis.colors[:2]] == [0, 240]
    assert analysis.colors[0].share == pytest.approx(0.6, abs=0.05)
    assert not analysis.monochrome


def test_the_thumbnail_is_stored_xz_wrapped_and_at_most_400_pixels_a_side():
    analysis = analyse(make.photo_like(width=1600, height=1000))

    thumbnail = decode_thumbnail(analysis.thumbnail)

    assert (analysis.width, analysis.height) == (1600, 1000)
    assert thumbnail.size == (analysis.thumbnail_width, analysis.thumbnail_height) == (400, 250)


def test_a_large_jpeg_is_decoded_at_reduced_scale_but_reported_at_full_size():
    analysis = analyse(
        make.two_color_split(first="red", second="blue", first_share=0.6, width=4000, height=3000, image_format="JPEG")
    )

    assert (analysis.width, analysis.height) == (4000, 3000)
    assert (analysis.thumbnail_width, analysis.thumbnail_height) == (400, 300)
    assert [color.hue for color in analysis.colors[:2]] == [0, 240]


def test_a_grey_image_is_monochrome():
    analysis = analyse(make.solid(color=(128, 128, 128), image_format="JPEG"))

    assert analysis.monochrome
    assert analysis.colors[0].hue is None


def test_exif_orientation_turns_the_image_upright():
    # Stored landscape, red on the left; orientation 6 means "rotate 90° clockwise to display",
    # which brings the left edge to the top.
    data = make.two_color_split(
        first="red", second="blue", first_share=0.5, width=60, height=40, image_format="JPEG", exif_orientation=6
    )

    analysis = analyse(data)
    thumbnail = decode_thumbnail(analysis.thumbnail).convert("RGB")

    assert (analysis.width, analysis.height) == (40, 60)
    assert thumbnail.size == (40, 60)
    top, bottom = thumbnail.getpixel((20, 5)), thumbnail.getpixel((20, 55))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_a_gif_is_described_by_its_first_frame():
    analysis = analyse(make.animated_gif(frame_colors=["red", "blue", "blue"]))

    assert analysis.format == "GIF"
    assert [color.hue for color in analysis.colors] == [0]


def test_a_multi_picture_jpeg_is_a_jpeg_described_by_its_first_picture():
    analysis = analyse(make.multi_picture_jpeg(picture_colors=["red", "blue"]))

    assert analysis.format == "JPEG"
    assert [color.hue for color in analysis.colors] == [0]


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_transparency_is_shown_over_white(mode):
    analysis = analyse(make.half_transparent(color="red", mode=mode))

    [red, white] = sorted(analysis.colors, key=lambda color: color.value)
    assert red.hue == 0 and red.share == pytest.approx(0.5, abs=0.05)
    assert white.hue is None and white.value > 0.95 and white.share == pytest.approx(0.5, abs=0.05)


def test_grey_with_transparency_is_shown_over_white():
    analysis = analyse(make.half_transparent(color="red", mode="LA"))

    [grey, white] = sorted(analysis.colors, key=lambda color: color.value)
    assert grey.value == pytest.approx(76 / 255, abs=0.02) and grey.share == pytest.approx(0.5, abs=0.05)
    assert white.value > 0.95 and white.share == pytest.approx(0.5, abs=0.05)
    assert analysis.monochrome


def test_a_transparent_gif_is_shown_over_white():
    analysis = analyse(make.half_transparent(color="blue", mode="P", image_format="GIF"))

    assert {color.hue for color in analysis.colors} == {240, None}


def test_a_cmyk_jpeg_keeps_its_color():
    analysis = analyse(make.solid(color=(255, 0, 0), mode="CMYK", image_format="JPEG"))

    assert analysis.colors[0].hue == pytest.approx(0, abs=3)


ADOBE_RGB = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"  # Debian's icc-profiles-free
PRO_PHOTO_RGB = "/usr/share/color/icc/colord/ProPhotoRGB.icc"  # Debian's colord-data
SWOP_CMYK = "/usr/share/color/icc/ghostscript/default_cmyk.icc"  # Debian's libgs-common
# In both wide-gamut spaces, these numbers read as sRGB would be a yellower green and a redder magenta.
GREEN_AND_MAGENTA = {(40, 200, 60): 0.5, (200, 40, 160): 0.5}


def tagged_file(picture, *, profile_path: str, image_format: str, mode: str = "RGB") -> bytes:
    converted = make.in_profile(picture, profile_path=profile_path, mode=mode)
    return make.encode(
        converted,
        image_format=image_format,
        icc_profile=converted.info["icc_profile"],
        **make.faithful_options(image_format),
    )


@pytest.mark.parametrize(
    ("profile_path", "image_format"), [(ADOBE_RGB, "JPEG"), (PRO_PHOTO_RGB, "PNG"), (ADOBE_RGB, "WEBP")]
)
def test_a_wide_gamut_file_gets_the_colors_a_color_managed_viewer_shows(profile_path, image_format):
    picture = make.areas_image(GREEN_AND_MAGENTA, width=120, height=60)

    analysis = analyse(tagged_file(picture, profile_path=profile_path, image_format=image_format))

    assert sorted(color.hue for color in analysis.colors if color.hue is not None) == [
        pytest.approx(128, abs=3),
        pytest.approx(315, abs=3),
    ]


def test_a_wide_gamut_file_gets_an_srgb_thumbnail():
    picture = make.areas_image(GREEN_AND_MAGENTA, width=120, height=60)

    analysis = analyse(tagged_file(picture, profile_path=ADOBE_RGB, image_format="PNG"))

    thumbnail = decode_thumbnail(analysis.thumbnail)
    assert "icc_profile" not in thumbnail.info  # untagged means sRGB to browsers
    for point, color in [((20, 30), (40, 200, 60)), ((100, 30), (200, 40, 160))]:
        assert thumbnail.getpixel(point) == pytest.approx(color, abs=12)


def test_a_cmyk_jpeg_with_a_profile_gets_the_colors_its_profile_gives():
    picture = make.areas_image({(20, 150, 140): 0.6, (200, 110, 40): 0.4}, width=120, height=60)

    analysis = analyse(tagged_file(picture, profile_path=SWOP_CMYK, image_format="JPEG", mode="CMYK"))

    assert [color.hue for color in analysis.colors if color.hue is not None] == [
        pytest.approx(175, abs=4),
        pytest.approx(26, abs=4),
    ]


def test_a_file_with_a_broken_profile_is_analysed_as_srgb_with_a_log_line(caplog):
    picture = make.areas_image(GREEN_AND_MAGENTA, width=120, height=60)

    with caplog.at_level("WARNING", logger="gallery.colors"):
        analysis = analyse(make.encode(picture, image_format="PNG", icc_profile=b"acsp" + bytes(200)))

    assert sorted(color.hue for color in analysis.colors if color.hue is not None) == [128, 315]
    assert "ICC profile" in caplog.text


@pytest.mark.parametrize(("mode", "image_format"), [("L", "PNG"), ("L", "JPEG"), ("P", "PNG"), ("1", "PNG")])
def test_greyscale_and_palette_images_are_read_as_rgb(mode, image_format):
    analysis = analyse(make.solid(color=(0, 0, 0), mode=mode, image_format=image_format))

    assert analysis.monochrome
    assert decode_thumbnail(analysis.thumbnail).size == (64, 48)


def test_a_16_bit_grey_png_keeps_its_brightness():
    analysis = analyse(make.grey_16_bit_png(level=32768))

    [grey] = analysis.colors
    assert grey.value == pytest.approx(0.5, abs=0.02)


def test_the_analysis_crosses_process_boundaries():
    analysis = analyse(make.photo_like(width=300, height=200))

    assert pickle.loads(pickle.dumps(analysis)) == analysis


def test_a_rejection_crosses_process_boundaries_with_its_reason():
    rejected = pickle.loads(pickle.dumps(ImageRejected("corrupt PNG: broken data")))

    assert rejected.reason == "corrupt PNG: broken data"


def test_no_pillow_warning_escapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyse(make.half_transparent(mode="P"))
        analyse(make.animated_gif())
        with pytest.raises(ImageRejected):
            analyse(make.webp_declaring(width=10_000, height=10_000), max_pixels=10_000 * 10_000 - 1)


# Rejections


def test_an_empty_file_is_refused():
    assert rejection(b"") == "empty file"


@pytest.mark.parametrize(
    "data", [b"these are my holiday notes, not a photo\n" * 20, b"%PDF-1.7\n", bytes(100), b"\x89PN"]
)
def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(data):
    assert rejection(data) == "not an image: expected JPEG, PNG, WebP or GIF"


@pytest.mark.parametrize("image_format", ["BMP", "TIFF"])
def test_an_image_in_an_unsupported_format_is_refused_by_name(image_format):
    reason = rejection(make.solid(image_format=image_format))

    assert reason == f"{image_format} images are not supported: expected JPEG, PNG, WebP or GIF"


def test_an_svg_is_refused_by_name():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'

    assert rejection(svg).startswith("SVG images are not supported")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_a_truncated_file_is_refused_as_truncated(image_format):
    reason = rejection(make.truncated(image_format=image_format))

    assert reason.startswith("truncated ")
    assert "file ends before" in reason


def test_a_file_cut_inside_its_header_is_refused_as_truncated():
    assert rejection(make.truncated(image_format="PNG", keep=0.01)).startswith("truncated PNG")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_corrupt_data_is_refused_as_corrupt(image_format):
    reason = rejection(make.corrupt(image_format=image_format))

    assert reason.startswith("corrupt ")


def test_a_png_decompression_bomb_is_refused_before_decoding():
    data = make.decompression_bomb()

    reason = rejection(data)

    assert reason.startswith("decompression bomb: the PNG file declares 20000×20000 pixels (400 megapixels) in only ")


def test_a_bomb_under_pillows_own_limit_but_over_ours_is_still_a_bomb():
    reason = rejection(make.decompression_bomb(width=8000, height=8000), max_pixels=10_000_000)

    assert reason.startswith("decompression bomb: the PNG file declares 8000×8000 pixels (64 megapixels)")


def test_a_webp_declaring_a_huge_canvas_is_refused_before_pillow_allocates_it():
    reason = rejection(make.webp_declaring(width=12_000, height=12_000))

    assert reason.startswith("decompression bomb: the WebP file declares 12000×12000 pixels (144 megapixels)")


def test_pillows_own_decompression_bomb_error_is_a_rejection():
    assert rejection(make.gif_with_oversized_frame()).startswith("decompression bomb: the GIF file")


def test_a_png_text_chunk_that_inflates_past_pillows_limit_is_a_bomb():
    assert rejection(make.png_text_bomb()).startswith("decompression bomb: the PNG file's metadata")


def test_a_real_image_over_the_pixel_limit_is_refused_with_its_size():
    reason = rejection(make.photo_like(width=400, height=300), max_pixels=100 * 100)

    assert reason == "400×300 is 0.12 megapixels, over the limit of 0.01 megapixels"


def test_an_image_exactly_at_the_pixel_limit_is_accepted():
    assert analyse(make.photo_like(width=400, height=300), max_pixels=400 * 300).width == 400


def test_a_jpeg_with_garbage_in_its_entropy_coded_data_is_refused_as_corrupt():
    data = make.photo_like(seed=1)
    middle = (data.index(b"\xff\xda") + len(data)) // 2
    damaged = data[:middle] + random.Random(12).randbytes(4096) + data[middle + 4096 :]

    with pytest.raises(ImageRejected, match=r"^corrupt JPEG: invalid marker 0xFF[0-9A-F]{2} at byte \d+$"):
        analyse_image(damaged, max_pixels=10**8)


def test_a_png_with_a_bad_chunk_crc_is_refused_as_corrupt():
    data = make.solid(color="navy", width=64, height=64)
    pixels = data.index(b"IDAT") + 4
    damaged = data[:pixels] + bytes([data[pixels] ^ 0xFF]) + data[pixels + 1 :]

    with pytest.raises(ImageRejected, match=r"^corrupt PNG: the IDAT chunk at byte \d+ fails its CRC check$"):
        analyse_image(damaged, max_pixels=10**8)


def test_progressive_and_restart_marker_jpegs_pass_the_structure_check():
    for options in ({"progressive": True}, {"restart_marker_blocks": 2}):
        data = make.encode(make.photo_like_image(seed=5), image_format="JPEG", **options)

        assert analyse_image(data, max_pixels=10**8).format == "JPEG"
