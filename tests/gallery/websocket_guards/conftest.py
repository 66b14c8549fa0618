# The scroller consumer's own fixtures: both channel layers, an opened socket, stored images.
from tests.gallery.realtime.test_consumer import channel_layer, connect, make  # noqa: F401
