"""The JSON shape of an image, shared by the HTTP API and the websocket."""

from collections.abc import Iterable

from django.urls import reverse

from gallery.models import DominantColor, Image
from gallery.permissions import can_modify_image
from gallery.thumbnails import THUMBNAIL_MEDIA_TYPE


def image_to_dict(image: Image, *, viewer, detail: bool = False, colors: Iterable[DominantColor] | None = None) -> dict:
    """`image` needs `owner` selected and `colors` prefetched (or passed in) to avoid a query per image."""
    colors = image.colors.all() if colors is None else colors
    data = {
        "id": image.pk,
        "filename": image.original_name,
        "owner": image.owner.get_username(),
        "visibility": image.visibility,
        "width": image.width,
        "height": image.height,
        "thumb_width": image.thumbnail_width,
        "thumb_height": image.thumbnail_height,
        "thumb_type": THUMBNAIL_MEDIA_TYPE,
        "monochrome": image.is_monochrome,
        "colors": [
            {"hue": color.hue, "saturation": round(color.saturation, 3), "value": round(color.value, 3), "share": round(color.share, 3)}
            for color in colors
        ],
        "thumbnail_url": reverse("api-image-thumbnail", args=[image.pk]),
        "original_url": reverse("api-image-original", args=[image.pk]),
        "can_delete": can_modify_image(user=viewer, image=image),
    }
    if detail:
        data |= {
            "sha256": image.sha256,
            "format": image.format,
            "byte_size": image.byte_size,
            "created_at": image.created_at.isoformat(),
            "deleted_at": image.deleted_at.isoformat() if image.deleted_at else None,
        }
    return data
