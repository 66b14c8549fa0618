import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from gallery.library.backfill import fill_missing_tiles, images_missing_tiles


class Command(BaseCommand):
    help = (
        "Give images stored before photomosaics and near-duplicates their mosaic tile and perceptual hash, "
        "from their stored thumbnails. Safe to run again: it only fills what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, batch_size: int, no_progress: bool, **options):
        with tqdm(total=images_missing_tiles(), unit="img", disable=no_progress, file=sys.stderr) as progress:
            filled = 0
            for count in fill_missing_tiles(batch_size=batch_size):
                filled += count
                progress.update(count)
        self.stdout.write(f"filled {filled} image(s)")
