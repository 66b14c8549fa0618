"""Images stored through the real ingest pipeline, for tests that need some in the catalogue."""

from gallery import ingest
from gallery.models import Image
from tests.gallery.images import solid


def store_image(
    *,
    owner,
    color: tuple[int, int, int] = (255, 0, 0),
    data: bytes | None = None,
    filename: str = "image.png",
    visibility: str = "public",
) -> Image:
    data = data if data is not None else solid(color=color)
    upload = ingest.receive(filename=filename, size=len(data), read=lambda: data)
    [[result]] = ingest.ingest_batches(owner=owner, batches=[[upload]], visibility=visibility)
    assert result.status == "created" and result.id is not None, result
    return Image.objects.get(pk=result.id)
