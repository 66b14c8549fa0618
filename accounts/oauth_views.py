"""django-oauth-toolkit's device-flow endpoints, completed where it leaves RFC 8628 open.

The device authorization answer gets absolute verification URIs for the host it was asked
on; the token endpoint tells fast pollers to slow down, answers expired_token once the code
has expired, and lets a device code buy one token only.
"""

import json
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from oauth2_provider import views as oauth2_views

from accounts.selectors import oauth_client_exists
from accounts.services import (
    CLI_CLIENT_ID,
    DEVICE_CODE_GRANT_TYPE,
    OAuthRefusal,
    delete_stale_device_grants,
    ensure_cli_application,
    poll_device_grant,
)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class DeviceAuthorizationView(oauth2_views.DeviceAuthorizationView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.content_type != FORM_CONTENT_TYPE:
            return refusal_response(OAuthRefusal("invalid_request", f"Send the request as {FORM_CONTENT_TYPE}."))
        # oauthlib compares the whole header, so "; charset=utf-8" would otherwise be refused.
        request.META["CONTENT_TYPE"] = FORM_CONTENT_TYPE
        client_id = request.POST.get("client_id", "")
        if not client_id:
            return refusal_response(OAuthRefusal("invalid_request", "client_id is required."))
        if client_id == CLI_CLIENT_ID:
            ensure_cli_application()
        elif not oauth_client_exists(client_id=client_id):
            return refusal_response(OAuthRefusal("invalid_client", "Unknown client_id."), status=401)
        delete_stale_device_grants()
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        answer = json.loads(response.content)
        verification_uri = request.build_absolute_uri(reverse("accounts:device"))
        answer["verification_uri"] = verification_uri
        answer["verification_uri_complete"] = f"{verification_uri}?{urlencode({'user_code': answer['user_code']})}"
        return JsonResponse(answer, headers=NO_STORE)


class TokenView(oauth2_views.TokenView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.POST.get("grant_type") != DEVICE_CODE_GRANT_TYPE:
            return super().post(request, *args, **kwargs)
        device_code = request.POST.get("device_code", "")
        client_id = request.POST.get("client_id", "")
        if not device_code or not client_id:
            return refusal_response(OAuthRefusal("invalid_request", "device_code and client_id are required."))
        with transaction.atomic():
            outcome = poll_device_grant(device_code=device_code, client_id=client_id)
            if isinstance(outcome, OAuthRefusal):
                return refusal_response(outcome)
            response = super().post(request, *args, **kwargs)
            if response.status_code == 200:
                outcome.delete()
        return response


def refusal_response(refusal: OAuthRefusal, *, status: int = 400) -> JsonResponse:
    return JsonResponse(refusal.as_dict(), status=status, headers=NO_STORE)
