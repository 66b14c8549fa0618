from django.urls import path

from gallery.consumers import ScrollerConsumer

websocket_urlpatterns = [
    path("ws/scroller/", ScrollerConsumer.as_asgi()),
]
