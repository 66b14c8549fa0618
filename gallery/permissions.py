from gallery.models import Image


def can_modify_image(*, user, image: Image) -> bool:
    """Delete, restore and purge belong to the image's owner and to staff."""
    return bool(user is not None and user.is_authenticated and (user.is_staff or image.owner_id == user.pk))
