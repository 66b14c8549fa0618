"""The types of the people code acts for, so that signatures say who may be anonymous and who may not."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

# Whoever reads: a signed-in user or an anonymous visitor.
Viewer = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    """The request a `login_required` view receives: its user is signed in."""

    user: User
