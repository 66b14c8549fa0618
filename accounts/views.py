from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenForm, DeviceCodeForm, DeviceDecisionForm, SignUpForm
from accounts.models import ApiToken
from accounts.selectors import DeviceCodeRejected, api_tokens_of, device_grant_description
from accounts.services import create_api_token, decide_device_grant, revoke_api_token
from accounts.users import AuthenticatedHttpRequest


def safe_next_url(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return next_url
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if not settings.SCROLLER_SIGNUP_OPEN:
        raise Http404("Sign-up is closed on this Scroller.")
    if request.user.is_authenticated:
        return redirect(safe_next_url(request))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(safe_next_url(request))
    context = {"form": form, "next": safe_next_url(request)}
    return render(request, "accounts/signup.html", context, status=400 if form.errors else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List, and create, the caller's API tokens; a new token's key is shown in this one response only."""
    form = ApiTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = create_api_token(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": api_tokens_of(user=request.user),
        "new_token": created[0] if created else None,
        "new_key": created[1] if created else None,
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    try:
        token = revoke_api_token(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    messages.success(request, f"Token “{token.name}” revoked: programs using it are now refused.")
    return redirect("accounts:tokens")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def device_verification(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where a person signs a device in (RFC 8628's verification URI): enter the code, then approve or deny."""
    if request.method == "POST" and "action" in request.POST:
        return decide_device(request)
    typed_code = request.POST.get("user_code") if request.method == "POST" else request.GET.get("user_code")
    if typed_code is None:
        return render(request, "accounts/device_code.html", {"form": DeviceCodeForm()})
    form = DeviceCodeForm({"user_code": typed_code})
    if not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(request, "accounts/device_code.html", {"form": form}, status=status)
    context = {
        "device": device_grant_description(grant=form.device_grant),
        "decision_form": DeviceDecisionForm(initial={"user_code": form.device_grant.user_code}),
    }
    return render(request, "accounts/device_confirm.html", context)


def decide_device(request: AuthenticatedHttpRequest) -> HttpResponse:
    decision = DeviceDecisionForm(request.POST)
    if not decision.is_valid():
        context = {"form": DeviceCodeForm(initial=request.POST), "error": "Choose Approve or Deny."}
        return render(request, "accounts/device_code.html", context, status=400)
    approve = decision.cleaned_data["action"] == "approve"
    try:
        grant = decide_device_grant(user=request.user, typed_code=decision.cleaned_data["user_code"], approve=approve)
    except DeviceCodeRejected as rejection:
        form = DeviceCodeForm(initial={"user_code": decision.cleaned_data["user_code"]})
        return render(request, "accounts/device_code.html", {"form": form, "error": rejection.message}, status=400)
    context = {"approved": approve, "device": device_grant_description(grant=grant)}
    return render(request, "accounts/device_done.html", context)
