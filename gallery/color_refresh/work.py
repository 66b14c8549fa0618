"""What the ingest pool's workers do for a re-analysis: pure image work, no Django."""

from gallery.analysis import ImageRejected, decode_image
from gallery.colors import DominantColor, dominant_colors


def colors_or_refusal(data: bytes, *, max_pixels: int) -> tuple[DominantColor, ...] | str:
    """The colours `analyse_image` would now find in the file, or why it would now refuse it."""
    try:
        return tuple(dominant_colors(decode_image(data, max_pixels=max_pixels).thumbnail))
    except ImageRejected as rejected:
        return rejected.reason
