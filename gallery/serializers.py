"""The JSON shape of an image, shared by the HTTP API and the websocket."""

import functools
import json
from dataclasses import dataclass

from django.urls import get_script_prefix, reverse

from accounts.users import Viewer
from gallery.models import Image
from gallery.permissions import can_modify_image
from gallery.thumbnails import THUMBNAIL_MEDIA_TYPE

# Stands in for the image id while an URL pattern is reversed once; no route contains it.
_ID_PLACEHOLDER = 987654321


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What never changes about a stored image (but its thumbnail)."""

    original_name: str
    width: int
    height: int
    thumbnail_width: int
    thumbnail_height: int
    is_monochrome: bool
    colors: tuple[tuple[int | None, float, float, float], ...]  # (hue, saturation, value, share), largest share first


@dataclass(frozen=True, slots=True)
class ImageCard:
    """What every listing shows of an image. The websocket builds these straight from SQL rows, the API from models.

    Labels and description can change after the upload (the classifier's task, a PATCH), so they
    are read with the row every time, like the visibility, rather than kept with the ImageFacts.
    """

    id: int
    owner_id: int
    owner_name: str
    visibility: str
    facts: ImageFacts
    labels: list[dict] | None = None
    description: str = ""


def image_card(image: Image) -> ImageCard:
    """`image` needs `owner` selected to avoid a query per image."""
    return ImageCard(
        id=image.pk,
        owner_id=image.owner_id,
        owner_name=image.owner.get_username(),
        visibility=image.visibility,
        labels=image.labels,
        description=image.description,
        facts=ImageFacts(
            original_name=image.original_name,
            width=image.width,
            height=image.height,
            thumbnail_width=image.thumbnail_width,
            thumbnail_height=image.thumbnail_height,
            is_monochrome=image.is_monochrome,
            colors=palette_colors(image.palette),
        ),
    )


def palette_colors(palette: list[list]) -> tuple[tuple[int | None, float, float, float], ...]:
    """ImageFacts.colors from an image's stored palette."""
    return tuple((hue, saturation, value, share) for hue, saturation, value, share in palette)


def card_to_dict(card: ImageCard, *, viewer: Viewer) -> dict:
    return {**_card_head(card), "can_delete": can_modify_image(user=viewer, owner_id=card.owner_id), **_card_tail(card)}


@dataclass(frozen=True, slots=True)
class CardJson:
    """card_to_dict's JSON (as the websocket writes it) around its one field that depends on the viewer, can_delete.

    Made once per image and kept in the image cache, so that a batch joins strings instead of
    building and encoding ten dicts: that was half of a batch's CPU.
    """

    head: str
    tail: str

    @classmethod
    def of(cls, card: ImageCard) -> "CardJson":
        head = json.dumps(_card_head(card), separators=(",", ":"))
        tail = json.dumps(_card_tail(card), separators=(",", ":"))
        return cls(head=head[:-1] + ',"can_delete":', tail="," + tail[1:])

    def text(self, *, can_delete: bool) -> str:
        return self.head + ("true" if can_delete else "false") + self.tail


def _card_head(card: ImageCard) -> dict:
    """card_to_dict's fields before can_delete, in order."""
    facts = card.facts
    return {
        "id": card.id,
        "filename": facts.original_name,
        "owner": card.owner_name,
        "visibility": card.visibility,
        "width": facts.width,
        "height": facts.height,
        "thumb_width": facts.thumbnail_width,
        "thumb_height": facts.thumbnail_height,
        "thumb_type": THUMBNAIL_MEDIA_TYPE,
        "monochrome": facts.is_monochrome,
        "colors": [
            {"hue": hue, "saturation": round(saturation, 3), "value": round(value, 3), "share": round(share, 3)}
            for hue, saturation, value, share in facts.colors
        ],
        "thumbnail_url": image_url("api-image-thumbnail", image_id=card.id),
        "original_url": image_url("api-image-original", image_id=card.id),
        "page_url": image_url("image-page", image_id=card.id),
    }


def _card_tail(card: ImageCard) -> dict:
    """card_to_dict's fields after can_delete, in order."""
    return {"description": card.description, "labels": card.labels}


def image_to_dict(image: Image, *, viewer: Viewer, detail: bool = False) -> dict:
    """`image` needs `owner` selected to avoid a query per image."""
    data = card_to_dict(image_card(image), viewer=viewer)
    if detail:
        data |= detail_fields(image)
    return data


def detail_fields(image: Image) -> dict:
    """What the API adds to a card for one image (`detail`)."""
    return {
        "sha256": image.sha256,
        "format": image.format,
        "byte_size": image.byte_size,
        "created_at": image.created_at.isoformat(),
        "deleted_at": image.deleted_at.isoformat() if image.deleted_at else None,
    }


def image_url(name: str, *, image_id: int) -> str:
    """reverse(name, args=[image_id]) for the routes that take only an image id, at a fraction of the cost.

    A batch of ten images reversed two URLs each, which took a third of the CPU the websocket spent serving it.
    """
    return _url_pattern(name, script_prefix=get_script_prefix()).format(image_id)


@functools.cache
def _url_pattern(name: str, *, script_prefix: str) -> str:
    # script_prefix only keys the cache: reverse() reads the same value itself.
    return (
        reverse(name, args=[_ID_PLACEHOLDER]).replace("{", "{{").replace("}", "}}").replace(str(_ID_PLACEHOLDER), "{}")
    )
