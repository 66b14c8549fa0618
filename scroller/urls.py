from django.contrib import admin
from django.urls import include, path

from scroller.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("o/", include("accounts.oauth_urls")),
    path("", include("gallery.urls")),
]
