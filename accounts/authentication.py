"""Who is calling the API: a named API token, an OAuth 2.0 access token or the browser session.

The API views are csrf_exempt so that token clients need no CSRF token; a session
caller is the only one a forged cross-site request can ride on, so CSRF is
enforced here for session callers, as Django REST framework's SessionAuthentication does.
"""

import hashlib
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts.models import ApiToken
from accounts.services import hash_api_key
from accounts.users import Viewer

# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_SCOPE = "api"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AuthenticationFailed(Exception):
    """The request carried credentials that do not authenticate anyone; the API answers 401 with `message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def authenticate_api_request(request: HttpRequest) -> Viewer:
    """The user an API request acts as; also sets `request.user` to it.

    `Authorization: Token <key>` and `Authorization: Bearer <access token>` need no CSRF token.
    Without an Authorization header the session user is used, and an unsafe method from a
    logged-in session must pass Django's CSRF check. May parse the request body (the CSRF
    token can be a form field), so a malformed upload raises what `request.POST` raises.
    """
    header = request.headers.get("Authorization", "")
    user: Viewer
    if header:
        user = await user_from_authorization_header(header=header)
    else:
        user = await request.auser()
        if user.is_authenticated and request.method not in SAFE_METHODS:
            await enforce_csrf(request=request)
    request.user = user
    return user


async def user_from_authorization_header(*, header: str) -> User:
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme not in {"token", "bearer"}:
        raise AuthenticationFailed("unsupported Authorization scheme: use 'Token <key>' or 'Bearer <access token>'")
    if not credentials or " " in credentials:
        raise AuthenticationFailed(f"malformed Authorization header: expected '{scheme.title()} <credentials>'")
    if scheme == "token":
        return await user_for_api_key(key=credentials)
    return await user_for_access_token(token=credentials)


async def user_for_api_key(*, key: str) -> User:
    try:
        token = await ApiToken.objects.select_related("user").aget(key_hash=hash_api_key(key=key))
    except ApiToken.DoesNotExist:
        raise AuthenticationFailed("invalid or revoked token") from None
    if not token.user.is_active:
        raise AuthenticationFailed("the token's user is inactive")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        await ApiToken.objects.filter(pk=token.pk).aupdate(last_used_at=now)
    return token.user


async def user_for_access_token(*, token: str) -> User:
    """The user an unexpired OAuth 2.0 access token with the `api` scope was issued to."""
    access_token_model = get_access_token_model()
    # django-oauth-toolkit looks tokens up by this checksum too, so the lookup works whether or not it keeps plain tokens.
    checksum = hashlib.sha256(token.encode()).hexdigest()
    access_tokens = access_token_model.objects.select_related("user")
    access_token = await access_tokens.filter(token_checksum=checksum).afirst()
    if access_token is None or access_token.user is None:
        raise AuthenticationFailed("invalid or revoked access token")
    if access_token.is_expired():
        raise AuthenticationFailed("expired access token")
    if not access_token.allow_scopes([API_SCOPE]):
        raise AuthenticationFailed(f"the access token lacks the '{API_SCOPE}' scope")
    if not access_token.user.is_active:
        raise AuthenticationFailed("the token's user is inactive")
    return access_token.user


class CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, keeping the reason of a refusal for the API's error message."""

    reason: str | None = None

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponseForbidden:
        self.reason = reason
        return HttpResponseForbidden(reason)


def _not_called(request: HttpRequest) -> HttpResponse:
    # The check only reads the request: it never calls the next handler, nor the view beyond its csrf_exempt mark.
    return HttpResponse()


def csrf_failure_reason(request: HttpRequest) -> str | None:
    check = CsrfCheck(_not_called)
    check.process_request(request)
    check.process_view(request, _not_called, (), {})
    return check.reason


async def enforce_csrf(*, request: HttpRequest) -> None:
    # Not thread-sensitive: the check touches no database, only the request body, which may be a large upload to parse.
    reason = await sync_to_async(csrf_failure_reason, thread_sensitive=False)(request)
    if reason:
        raise AuthenticationFailed(f"CSRF check failed: {reason}")
