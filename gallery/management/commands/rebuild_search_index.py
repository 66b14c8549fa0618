from django.core.management.base import BaseCommand
from tqdm import tqdm

from gallery.models import Image
from gallery.search.services import rebuild_index


class Command(BaseCommand):
    help = "Rewrite the text search index of every image from its file name, description, labels and colours."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="images per transaction (default 500)")

    def handle(self, *args, batch_size: int, verbosity: int, **options) -> None:
        with tqdm(total=Image.objects.count(), unit="image", disable=verbosity == 0) as progress:
            indexed = rebuild_index(batch_size=batch_size, progress=progress.update)
        if verbosity:
            self.stdout.write(f"Indexed {indexed} images.")
