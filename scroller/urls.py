from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from scroller.health import healthz


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Browsers and crawlers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("o/", include("accounts.oauth_urls")),
    path("", include("gallery.urls")),
]
