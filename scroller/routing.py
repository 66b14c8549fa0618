from django.urls import path

from gallery.realtime.consumer import ScrollerConsumer

# Websocket routes cannot be reversed with {% url %}: the scroller page is given this path instead.
SCROLLER_WEBSOCKET_PATH = "/ws/scroller/"

websocket_urlpatterns = [
    path(SCROLLER_WEBSOCKET_PATH.removeprefix("/"), ScrollerConsumer.as_asgi()),
]
