from collections.abc import Callable

from accounts.users import Viewer


def can_modify_image(*, user: Viewer, owner_id: int) -> bool:
    """Delete, restore and purge belong to the image's owner and to staff."""
    return can_modify_images_of(user=user)(owner_id)


def can_modify_images_of(*, user: Viewer) -> Callable[[int], bool]:
    """can_modify_image for many images, from their owner ids, with the user's side of the rule decided once."""
    if user is None or not user.is_authenticated:
        return lambda owner_id: False
    if user.is_staff:
        return lambda owner_id: True
    user_id = user.pk
    return lambda owner_id: owner_id == user_id
