import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gallery import ingest
from gallery.models import Visibility

BATCH_SIZE = 32
SHOWN_PER_REASON = 5


class Command(BaseCommand):
    help = "Import every image under the given files and folders (recursively) for a user, on all cores."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--user", required=True, help="username of the owner")
        parser.add_argument(
            "--visibility", choices=Visibility.values, default=None, help="default: SCROLLER_DEFAULT_VISIBILITY"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, paths: list[Path], user: str, visibility: str | None, no_progress: bool, **options):
        owner = self._owner(username=user)
        files = sorted(set(find_files(paths=paths)))
        if not files:
            raise CommandError("no files found under " + ", ".join(map(str, paths)))
        counts: Counter = Counter()
        reasons: dict[str, list[str]] = defaultdict(list)
        with tqdm(total=len(files), unit="img", disable=no_progress, file=sys.stderr) as progress:
            batches = (read_batch(batch) for batch in in_batches(files, size=BATCH_SIZE))
            for results in ingest.ingest_batches(
                owner=owner, batches=batches, visibility=visibility or settings.SCROLLER_DEFAULT_VISIBILITY
            ):
                for result in results:
                    counts[result.status] += 1
                    if result.error:
                        reasons[result.error].append(result.filename)
                progress.update(len(results))
        self._summarise(counts=counts, reasons=reasons)

    def _owner(self, *, username: str):
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"no user {username!r}: create it first with createsuperuser or create_token --create-user"
            ) from None

    def _summarise(self, *, counts: Counter, reasons: dict[str, list[str]]) -> None:
        summary = f"created {counts['created']}, duplicate {counts['duplicate']}, rejected {counts['rejected']}"
        if counts["deleted_before"]:
            summary += f", deleted before (not imported) {counts['deleted_before']}"
        self.stdout.write(summary)
        for reason, names in sorted(reasons.items(), key=lambda item: -len(item[1])):
            shown = ", ".join(names[:SHOWN_PER_REASON]) + (
                f" and {len(names) - SHOWN_PER_REASON} more" if len(names) > SHOWN_PER_REASON else ""
            )
            self.stdout.write(f"  rejected {len(names)}: {reason}: {shown}")


def find_files(*, paths: list[Path]) -> Iterator[Path]:
    """Regular files under the paths, hidden files and folders left out (.DS_Store, .git...)."""
    for root in paths:
        if not root.exists():
            raise CommandError(f"{root} does not exist")
        candidates = [root] if root.is_file() else root.rglob("*")
        for path in candidates:
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
                yield path


def in_batches(paths: list[Path], *, size: int) -> Iterator[list[Path]]:
    iterator = iter(paths)
    while batch := list(islice(iterator, size)):
        yield batch


def read_batch(paths: list[Path]) -> list[ingest.Upload]:
    return [read_file(path) for path in paths]


def read_file(path: Path) -> ingest.Upload:
    try:
        return ingest.receive(filename=str(path), size=path.stat().st_size, read=path.read_bytes)
    except OSError as failure:
        return ingest.Upload(ingest.sanitise_filename(str(path)), b"", "", error=f"unreadable: {failure.strerror}")
