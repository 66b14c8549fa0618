"""OAuth 2.0 endpoints, mounted at /o/: only what the command-line client's device flow needs."""

from django.urls import path
from oauth2_provider import views as oauth2_views

from accounts import oauth_views
from scroller.ratelimits import limit_posts

device_start_limit = limit_posts(
    name="device_start", what="device sign-ins started from this address", per=("address",)
)

# django-oauth-toolkit reverses its URLs under this namespace.
app_name = "oauth2_provider"

urlpatterns = [
    path(
        "device-authorization/",
        device_start_limit(oauth_views.DeviceAuthorizationView.as_view()),
        name="device-authorization",
    ),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
]
