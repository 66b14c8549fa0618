import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from gallery.color_refresh import selectors
from gallery.color_refresh.refresh import BATCH_SIZE, reanalyse_all

SHOWN_PER_REASON = 5


class Command(BaseCommand):
    help = (
        "Find every stored image's colours again from its original, after the colour analysis changed. "
        "Thumbnails are untouched; colour rows, palette and monochrome flag are replaced in one transaction per batch."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help=f"images per transaction (default {BATCH_SIZE})"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, batch_size: int, no_progress: bool, **options):
        with tqdm(total=selectors.count_images(), unit="img", disable=no_progress, file=sys.stderr) as progress:
            summary = reanalyse_all(batch_size=max(batch_size, 1), on_batch=progress.update)
        skipped = sum(len(ids) for ids in summary.skipped.values())
        self.stdout.write(f"re-analysed {summary.rewritten}, kept as they were {skipped}")
        for reason, ids in sorted(summary.skipped.items(), key=lambda item: -len(item[1])):
            shown = ", ".join(f"#{image_id}" for image_id in ids[:SHOWN_PER_REASON])
            more = f" and {len(ids) - SHOWN_PER_REASON} more" if len(ids) > SHOWN_PER_REASON else ""
            self.stdout.write(f"  kept {len(ids)}: {reason}: {shown}{more}")
