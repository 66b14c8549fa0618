"""What runs inside the ingest pool's worker processes: pure image work, no Django."""

from gallery.analysis import ImageAnalysis, ImageRejected, analyse_image
from gallery.colors import pin_native_threads


def start_worker() -> None:
    pin_native_threads()


def analyse_or_reject(data: bytes, *, max_pixels: int) -> ImageAnalysis | ImageRejected:
    """A refusal comes back as a value, so one bad file never fails the others of its batch."""
    try:
        return analyse_image(data, max_pixels=max_pixels)
    except ImageRejected as rejected:
        return rejected
