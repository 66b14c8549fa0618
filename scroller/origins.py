"""The websocket handshake's Origin must be the site's own origin, or one it trusts, as Django's CSRF check requires.

Channels' AllowedHostsOriginValidator compares only the origin's host name with ALLOWED_HOSTS, so a page
on another port or scheme of the same host (http://127.0.0.1:9999 for a server on :8300) could open the
scroller socket with the visitor's cookies. Here the whole origin (scheme, host and port) must equal the
one the request reached (its Host header, which must be one of ALLOWED_HOSTS, and its scheme, with
SECURE_PROXY_SSL_HEADER honoured behind a proxy), or be listed in CSRF_TRUSTED_ORIGINS
(DJANGO_CSRF_TRUSTED_ORIGINS; "https://*.example.org" covers subdomains). Without an Origin the handshake is refused.
"""

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

Scope = dict[str, Any]


def site_scheme(*, scope: Scope, headers: dict[bytes, bytes]) -> str:
    if scope.get("scheme") in ("wss", "https"):
        return "https"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        forwarded = headers.get(name.removeprefix("HTTP_").lower().replace("_", "-").encode(), b"")
        if forwarded.decode("latin-1").split(",")[0].strip() == secure_value:
            return "https"
    return "http"


def is_trusted(origin: str) -> bool:
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parsed = urlsplit(origin)
    wildcards = [urlsplit(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS if "*" in trusted]
    return any(
        # "https://*.example.org" trusts any subdomain, as Django's CSRF check reads it.
        trusted.scheme == parsed.scheme
        and is_same_domain(parsed.netloc, trusted.netloc[trusted.netloc.index("*") + 1 :])
        for trusted in wildcards
    )


def origin_allowed(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return False
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    own_site = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
    return (own_site and origin == f"{site_scheme(scope=scope, headers=headers)}://{host}") or is_trusted(origin)


class SiteOriginValidator:
    """ASGI middleware: refuses (HTTP 403) a websocket handshake from any origin but the site's own or a trusted one."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier.as_asgi()(scope, receive, send)
        return await self.application(scope, receive, send)
