"""A websocket acts for its user only while the user's session is valid.

Channels authenticates a socket once, at the handshake. Every write on the socket checks the
session again (`current_user`), and each logged-in socket joins a group of its user's, which is
told to close when the user logs out, changes password or is deactivated (`end_user_sockets`).
"""

import logging
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.auth import get_user
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# A closing code of the application range (4000-4999): the session this socket acted for ended.
SESSION_ENDED = 4401
SESSION_ENDED_EVENT = "session.ended"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def connection_groups(*, user: AbstractBaseUser | AnonymousUser, shared: str) -> tuple[str, ...]:
    return (shared, user_group(user.pk)) if user.is_authenticated else (shared,)


async def current_user(scope: dict) -> User | AnonymousUser:
    """The user the socket's session belongs to now: anonymous once it was logged out or expired, its
    password changed (the session's hash no longer matches) or the account deactivated.

    The session is read again from its store: the scope's copy was loaded once, at the handshake.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=scope["session"].session_key)
    return await get_user({"session": store})


def end_user_sockets(*, user_id: int) -> None:
    """After the commit, close every open scroller socket of this user."""
    transaction.on_commit(lambda: _send_session_ended(user_id=user_id))


def _send_session_ended(*, user_id: int) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user_id), {"type": SESSION_ENDED_EVENT})
    except Exception:
        # Each write on a socket checks its session again, so a missed close cannot let it act.
        logger.exception("could not close the websockets of user %s", user_id)


@receiver(user_logged_out)
def _on_logout(sender: type, request: HttpRequest, user: AbstractBaseUser | None, **kwargs: object) -> None:
    if user is not None:
        end_user_sockets(user_id=user.pk)


@receiver(pre_save, sender=get_user_model())
def _on_user_saved(
    sender: type, instance: AbstractBaseUser, update_fields: frozenset[str] | None, **kwargs: object
) -> None:
    if instance.pk is None or (update_fields is not None and not {"password", "is_active"} & update_fields):
        return
    stored = get_user_model().objects.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    if stored["password"] != instance.password or (stored["is_active"] and not instance.is_active):
        end_user_sockets(user_id=instance.pk)
