from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from oauth2_provider.models import AbstractDeviceGrant, get_application_model, get_device_grant_model
from oauth2_provider.scopes import get_scopes_backend

from accounts.models import ApiToken
from accounts.user_codes import normalize_user_code


class DeviceCodeRejected(Exception):
    """A user code that cannot be approved; `message` says why, for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def oauth_client_exists(*, client_id: str) -> bool:
    return get_application_model().objects.filter(client_id=client_id).exists()


def pending_device_grant(*, typed_code: str, for_update: bool = False) -> AbstractDeviceGrant:
    """The device grant still waiting for a decision under `typed_code`, or DeviceCodeRejected."""
    user_code = normalize_user_code(typed=typed_code)
    if user_code is None:
        raise DeviceCodeRejected("That is not a device code: it has 8 letters, like WDJB-MJHT.")
    device_grant_model = get_device_grant_model()
    grants = device_grant_model.objects.filter(user_code=user_code).order_by("-expires")
    grant = (grants.select_for_update() if for_update else grants).first()
    if grant is None:
        raise DeviceCodeRejected("No device is waiting for that code. Check it against the one your device shows.")
    if grant.status == device_grant_model.EXPIRED or grant.expires <= timezone.now():
        raise DeviceCodeRejected("That code has expired. Start again on your device to get a new one.")
    if grant.status != device_grant_model.AUTHORIZATION_PENDING:
        raise DeviceCodeRejected("That code has already been used.")
    return grant


def device_grant_description(*, grant: AbstractDeviceGrant) -> dict:
    """What a person needs to decide: which program asks, and for what."""
    application = get_application_model().objects.filter(client_id=grant.client_id).first()
    all_scopes = get_scopes_backend().get_all_scopes()
    return {
        "user_code": grant.user_code,
        "application_name": application.name if application else grant.client_id,
        "scopes": [all_scopes.get(scope, scope) for scope in grant.scope.split()],
        "expires": grant.expires,
    }
