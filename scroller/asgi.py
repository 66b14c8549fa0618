import gc
import os

from django.core.asgi import get_asgi_application

from scroller.profiling import profile_if_asked

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
# Django must be set up before anything imports models: the consumers do.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from gallery.websocket_guards.daphne_rate import limit_messages_as_read  # noqa: E402
from scroller.daphne_bodies import stream_request_bodies  # noqa: E402
from scroller.origins import SiteOriginValidator  # noqa: E402
from scroller.routing import websocket_urlpatterns  # noqa: E402
from scroller.warm_up import warm_up  # noqa: E402


def skip_twisted_form_parsing() -> None:
    """Daphne hands the raw body to Django, which parses uploads itself; Twisted would parse every
    multipart POST a second time, on the event loop (measured: 40% of the server's main thread during bulk upload)."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:
        return
    # Twisted sets the flag per request in Request.__init__ (parsePOSTFormSubmission=True, which Daphne
    # does not pass on); a read-only descriptor on Daphne's request class turns it off for every request.
    WebRequest._parsePOSTFormSubmission = property(lambda request: False, lambda request, value: None)


skip_twisted_form_parsing()
stream_request_bodies()
limit_messages_as_read()
profile_if_asked()
warm_up()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SiteOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# A thousand open websockets hold a few hundred thousand objects that the garbage collector
# walks on every full collection, stopping the server for 100-300 ms each time. Everything
# loaded so far (modules, classes, URL patterns) lives as long as the process: frozen, it is
# not walked at all. A young generation of 10,000 instead of 700 objects lets the short-lived
# objects of each request die before they are promoted, so full collections come far less
# often (measured with bench/ws_clients.py: 13 full collections in 30 s became 4).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
