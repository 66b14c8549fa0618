from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from scroller.ratelimits import limit_posts

signup_limit = limit_posts(name="signup", what="sign-up attempts from this address", per=("address",), answer="page")
password_limit = limit_posts(
    name="password_change", what="password change attempts", per=("account", "address"), answer="page"
)
device_limit = limit_posts(name="device_approval", what="device codes tried", per=("account", "address"), answer="page")

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", signup_limit(views.sign_up), name="signup"),
    path(
        "password/",
        password_limit(
            auth_views.PasswordChangeView.as_view(
                template_name="accounts/password_change.html",
                success_url=reverse_lazy("accounts:password_change_done"),
            )
        ),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password_change_done",
    ),
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="token_revoke"),
    path("device/", device_limit(views.device_verification), name="device"),
]
