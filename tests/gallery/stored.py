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


def store_many(*, owner, files: list[bytes], visibility: str = "public") -> list[Image]:
    """Several images in one batch through the real pipeline, in order."""
    uploads = [
        ingest.receive(filename=f"image-{index}.png", size=len(data), read=lambda data=data: data)
        for index, data in enumerate(files)
    ]
    [results] = ingest.ingest_batches(owner=owner, batches=[uploads], visibility=visibility)
    assert all(result.status == "created" for result in results), results
    found = Image.objects.in_bulk([result.id for result in results])
    return [found[result.id] for result in results]
