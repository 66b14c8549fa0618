import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gallery.labels import selectors
from gallery.labels.classifier import ClassifierUnavailable
from gallery.labels.services import LabellingFailed, label_images

BATCH_SIZE = 64
SHOWN_FAILURES = 5


class Command(BaseCommand):
    help = (
        "Label stored images with the classifier, in this process (background workers are not needed): "
        "those without labels (--missing, the default), or every one again (--all)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--missing", action="store_true", help="only images without labels yet (the default)")
        which.add_argument("--all", action="store_true", help="every image, labelled or not")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, missing: bool, all: bool, no_progress: bool, **options):
        image_ids = selectors.images_to_label(missing_only=not all)
        labelled = 0
        failures: list[str] = []
        with tqdm(total=len(image_ids), unit="img", disable=no_progress, file=sys.stderr) as progress:
            for start in range(0, len(image_ids), BATCH_SIZE):
                batch = image_ids[start : start + BATCH_SIZE]
                try:
                    labelled += len(label_images(image_ids=batch))
                except ClassifierUnavailable as error:
                    raise CommandError(f"the classifier is unavailable: {error}") from None
                except LabellingFailed as failure:
                    labelled += len(batch) - len(failure.image_ids)
                    failures.append(str(failure))
                progress.update(len(batch))
        self.stdout.write(f"labelled {labelled} of {len(image_ids)} image(s)")
        if failures:
            for line in failures[:SHOWN_FAILURES]:
                self.stderr.write(line)
            raise CommandError(f"{len(image_ids) - labelled} image(s) could not be labelled")
