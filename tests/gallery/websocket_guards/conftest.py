# The scroller consumer's own fixtures: both channel layers, an opened socket, stored images.
from tests.gallery.test_consumers import channel_layer, connect, make  # noqa: F401
