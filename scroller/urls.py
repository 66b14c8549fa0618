from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("o/", include("accounts.oauth_urls")),
    path("", include("gallery.urls")),
]
