import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    AbstractApplication,
    AbstractDeviceGrant,
    get_application_model,
    get_device_grant_model,
)

from accounts.models import API_TOKEN_NAME_MAX_LENGTH, ApiToken
from accounts.selectors import pending_device_grant

API_KEY_MARKER = "scr_"
API_KEY_PREFIX_LENGTH = 10


def hash_api_key(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Store a new token for `user` and return it with its plain key, which is never retrievable again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A token needs a name."})
    if len(name) > API_TOKEN_NAME_MAX_LENGTH:
        raise ValidationError({"name": f"A token name has at most {API_TOKEN_NAME_MAX_LENGTH} characters."})
    # The marker lets secret scanners and people recognise a leaked Scroller key.
    key = API_KEY_MARKER + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_api_key(key=key), prefix=key[:API_KEY_PREFIX_LENGTH]
    )
    return token, key


def revoke_api_token(*, user: User, token_id: int) -> ApiToken:
    """Delete one of `user`'s tokens and return it; raises ApiToken.DoesNotExist for anyone else's or an unknown id."""
    token = ApiToken.objects.get(pk=token_id, user=user)
    token.delete()
    return token


CLI_CLIENT_ID = "scroller-cli"
CLI_APPLICATION_NAME = "Scroller command line"
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8628 section 3.5: a client told to slow down adds 5 seconds to its polling interval for good.
SLOW_DOWN_STEP_SECONDS = 5
# Expired device grants are kept this long so a late poll still hears "expired_token" rather than "invalid_grant".
EXPIRED_DEVICE_GRANT_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class OAuthRefusal:
    """An OAuth error answer (RFC 6749 section 5.2; the device-flow ones are RFC 8628 section 3.5)."""

    error: str
    description: str
    interval: int | None = None

    def as_dict(self) -> dict:
        answer: dict[str, str | int] = {"error": self.error, "error_description": self.description}
        if self.interval is not None:
            answer["interval"] = self.interval
        return answer


def ensure_cli_application() -> AbstractApplication:
    """The public OAuth client the command-line program signs in as; created on first need, so no install step can miss it."""
    application, _ = get_application_model().objects.get_or_create(
        client_id=CLI_CLIENT_ID,
        defaults={
            "name": CLI_APPLICATION_NAME,
            "client_type": AbstractApplication.CLIENT_PUBLIC,
            "authorization_grant_type": AbstractApplication.GRANT_DEVICE_CODE,
        },
    )
    return application


def delete_stale_device_grants() -> int:
    deleted, _ = (
        get_device_grant_model().objects.filter(expires__lt=timezone.now() - EXPIRED_DEVICE_GRANT_RETENTION).delete()
    )
    return deleted


def decide_device_grant(*, user: User, typed_code: str, approve: bool) -> AbstractDeviceGrant:
    """Approve or deny the device waiting under `typed_code`; raises DeviceCodeRejected if none is waiting."""
    with transaction.atomic():
        grant = pending_device_grant(typed_code=typed_code, for_update=True)
        grant.user = user
        grant.status = grant.AUTHORIZED if approve else grant.DENIED
        grant.save(update_fields=["user", "status"])
    return grant


def poll_device_grant(*, device_code: str, client_id: str) -> AbstractDeviceGrant | OAuthRefusal:
    """The approved grant a token may be issued for, or why not yet; call inside a transaction, it locks the grant.

    Records the poll, so a client polling faster than its interval is told to slow down.
    """
    device_grant_model = get_device_grant_model()
    grants = device_grant_model.objects.select_for_update()
    grant = grants.filter(device_code=device_code, client_id=client_id).first()
    if grant is None:
        return OAuthRefusal("invalid_grant", "Unknown or already used device code for this client.")
    if grant.status == grant.DENIED:
        return OAuthRefusal("access_denied", "The user denied the request.")
    if grant.is_expired():
        return OAuthRefusal("expired_token", "The device code has expired; start a new device authorization.")
    if grant.status == grant.AUTHORIZED:
        return grant
    if timezone.now() - grant.last_checked < timedelta(seconds=grant.interval):
        grant.interval += SLOW_DOWN_STEP_SECONDS
        grant.save(update_fields=["interval", "last_checked"])
        return OAuthRefusal(
            "slow_down", f"Polling too often: wait {grant.interval} seconds between requests.", interval=grant.interval
        )
    grant.save(update_fields=["last_checked"])
    return OAuthRefusal("authorization_pending", "The user has not yet approved or denied the request.")
