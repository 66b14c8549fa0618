"""Reads of images for the HTTP API, the admin and the ingest pipeline."""

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q

from accounts.users import Viewer
from gallery.models import DominantColor, Image

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def hue_ranges(*, hue: int, margin: int) -> list[tuple[int, int]]:
    """The inclusive hue ranges within `margin` degrees of `hue` on the colour circle: two when the window wraps past 0°."""
    if margin >= 180:
        return [(0, 359)]
    low, high = hue - margin, hue + margin
    if low < 0:
        return [(low + 360, 359), (0, high)]
    if high > 359:
        return [(low, 359), (0, high - 360)]
    return [(low, high)]


def matching_colors(*, hue: int, margin: int | None = None, min_share: float | None = None):
    margin = settings.SCROLLER_HUE_MARGIN if margin is None else margin
    min_share = settings.SCROLLER_MIN_MATCH_SHARE if min_share is None else min_share
    in_window = Q()
    for low, high in hue_ranges(hue=hue, margin=margin):
        in_window |= Q(hue__gte=low, hue__lte=high)
    return DominantColor.objects.filter(in_window, share__gte=min_share)


def list_images(
    *,
    viewer,
    hue: int | None = None,
    owner_only: bool = False,
    include_deleted: bool = False,
    before: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> list[Image]:
    """Newest first, keyset-paginated by id so pages stay cheap however deep they go."""
    images = listable_images(viewer=viewer, hue=hue, owner_only=owner_only, include_deleted=include_deleted)
    if before is not None:
        images = images.filter(pk__lt=before)
    page = images.select_related("owner").defer("thumbnail").order_by("-pk")
    return list(page[: min(max(limit, 1), MAX_PAGE_SIZE)])


def listable_images(*, viewer, hue: int | None = None, owner_only: bool = False, include_deleted: bool = False):
    """The images a listing may show `viewer`, with the listing's filters, in no particular order."""
    images = Image.objects.visible_to(viewer)
    if owner_only:
        images = images.filter(owner=viewer)
    if not (include_deleted and (owner_only or viewer.is_staff)):
        images = images.alive()
    if hue is not None:
        images = images.filter(Exists(matching_colors(hue=hue).filter(image=OuterRef("pk"))))
    return images


def get_visible_image(*, viewer: Viewer, image_id: int, with_thumbnail: bool = False) -> Image:
    """Raises Image.DoesNotExist for deleted images and for images the viewer may not see, alike."""
    images = Image.objects.visible_to(viewer).alive().select_related("owner")
    if not with_thumbnail:
        images = images.defer("thumbnail")
    return images.get(pk=image_id)


def get_owned_image(*, viewer: User, image_id: int) -> Image:
    """An image the viewer may change, deleted or not (for restore)."""
    images = Image.objects.select_related("owner").defer("thumbnail")
    if not viewer.is_staff:
        images = images.filter(owner=viewer)
    return images.get(pk=image_id)


def image_to_announce(*, image_id: int) -> Image:
    return Image.objects.defer("thumbnail").get(pk=image_id)


def find_by_hashes(*, owner: User, hashes: list[str]) -> dict[str, Image]:
    images = Image.objects.filter(owner=owner, sha256__in=set(hashes)).only("pk", "sha256", "deleted_at", "owner_id")
    return {image.sha256: image for image in images}


def get_page_image(*, viewer, image_id: int) -> Image:
    """What the API's detail shows, plus a deleted image to those who may restore it (its page offers the restore).

    Raises Image.DoesNotExist for everyone else, alike for private, deleted and missing images.
    """
    try:
        return get_visible_image(viewer=viewer, image_id=image_id)
    except Image.DoesNotExist:
        if not viewer.is_authenticated:
            raise
    return get_owned_image(viewer=viewer, image_id=image_id)
