"""Rate limits, counted in Django's cache (Redis when REDIS_URL is set, so all server processes share them).

Each limit is a number of events per window of seconds, per client address and/or per account
(SCROLLER_RATE_LIMITS). Over it, the answer is 429 with Retry-After: {"error": ...} for programs, a page
saying when to try again for the account forms a person fills in. Windows are fixed (the count restarts every `seconds`), which costs one cache increment per event.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Exceeded:
    what: str
    retry_after: int

    @property
    def message(self) -> str:
        minutes = max(1, round(self.retry_after / 60))
        return f"too many {self.what}: try again in {self.retry_after} s" + (
            f" (about {minutes} min)" if self.retry_after >= 120 else ""
        )

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.message}, status=429, headers={"Retry-After": str(self.retry_after)})

    def page_response(self, request: HttpRequest) -> HttpResponse:
        page = render_to_string("too_many_requests.html", {"exceeded": self}, request=request)
        return HttpResponse(page, status=429, headers={"Retry-After": str(self.retry_after)})


def rate(name: str) -> Rate:
    count, seconds = settings.SCROLLER_RATE_LIMITS[name]
    return Rate(count=count, seconds=seconds)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(name: str, who: str, limit: Rate) -> tuple[str, int]:
    now = int(time.time())
    window = now // limit.seconds
    retry_after = limit.seconds - now % limit.seconds
    return f"ratelimit:{settings.SCROLLER_RATE_LIMIT_SCOPE}:{name}:{who}:{window}", retry_after


def count(name: str, *, who: str, what: str) -> Exceeded | None:
    """Count one event of limit `name` for `who` ("ip:..." or "user:..."); Exceeded once over the limit."""
    limit = rate(name)
    key, retry_after = _key(name, who, limit)
    cache.add(key, 0, timeout=limit.seconds + 1)
    try:
        events = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=limit.seconds + 1)
        events = 1
    return Exceeded(what=what, retry_after=retry_after) if events > limit.count else None


def already_exceeded(name: str, *, who: str, what: str) -> Exceeded | None:
    """Whether `who` is over limit `name` now, without counting an event."""
    limit = rate(name)
    key, retry_after = _key(name, who, limit)
    return Exceeded(what=what, retry_after=retry_after) if cache.get(key, 0) >= limit.count else None


def limit_posts(
    *, name: str, what: str, per: tuple[str, ...], answer: Literal["json", "page"] = "json"
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorates a view: each POST counts against limit `name`, per "address" and/or per "account".

    `answer`: "page" for a form a person fills in, "json" for an endpoint programs call.
    """

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                for who in _whos(request, per=per):
                    if exceeded := count(name, who=who, what=what):
                        return exceeded.page_response(request) if answer == "page" else exceeded.response()
            return view(request, *args, **kwargs)

        return limited

    return decorate


def _whos(request: HttpRequest, *, per: tuple[str, ...]) -> list[str]:
    whos = []
    if "address" in per:
        whos.append(f"ip:{client_address(request)}")
    if "account" in per and request.user.is_authenticated:
        whos.append(f"user:{request.user.pk}")
    return whos
