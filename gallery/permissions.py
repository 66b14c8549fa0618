from accounts.users import Viewer


def can_modify_image(*, user: Viewer, owner_id: int) -> bool:
    """Delete, restore and purge belong to the image's owner and to staff."""
    return bool(user is not None and user.is_authenticated and (user.is_staff or owner_id == user.pk))
