"""What the image page shows of an image, ready for its template."""

import colorsys
from dataclasses import dataclass

from gallery.models import Image, Visibility
from gallery.page.rendition import display_size
from gallery.palette_search.query import colors_like
from gallery.permissions import can_modify_image
from gallery.serializers import image_url


@dataclass(frozen=True, slots=True)
class Swatch:
    hex: str
    hue: int | None
    saturation: float
    value: float
    share: float

    @property
    def percent(self) -> int:
        return round(self.share * 100)

    @property
    def label(self) -> str:
        hue = "no hue (grey, white or black)" if self.hue is None else f"hue {self.hue}°"
        return f"{hue}, {self.percent}% of the picture"


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    wnid: str
    probability: float

    @property
    def percent(self) -> float:
        return round(self.probability * 100, 1)


def swatches(image: Image) -> list[Swatch]:
    return [
        Swatch(hex=_hex(hue, saturation, value), hue=hue, saturation=saturation, value=value, share=share)
        for hue, saturation, value, share in image.palette
    ]


def labels(image: Image) -> list[Label] | None:
    """None until the classifier has run."""
    if image.labels is None:
        return None
    return [Label(name=label["name"], wnid=label["wnid"], probability=label["probability"]) for label in image.labels]


def page_context(*, image: Image, viewer) -> dict:
    display_width, display_height = display_size(width=image.width, height=image.height)
    return {
        "image": image,
        "can_edit": can_modify_image(user=viewer, owner_id=image.owner_id),
        "is_public": image.visibility == Visibility.PUBLIC,
        "swatches": swatches(image),
        "labels": labels(image),
        "display_url": image_url("api-image-display", image_id=image.pk),
        "display_width": display_width,
        "display_height": display_height,
        "original_url": image_url("api-image-original", image_id=image.pk),
        "thumbnail_url": image_url("api-image-thumbnail", image_id=image.pk),
        "colors_like_this": colors_like(image.palette),
    }


def _hex(hue: int | None, saturation: float, value: float) -> str:
    red, green, blue = colorsys.hsv_to_rgb((hue or 0) / 360, saturation, value)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
