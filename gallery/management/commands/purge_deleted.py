import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from gallery import services
from gallery.purged import services as purged_services

DURATION = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match:
        raise CommandError(f"{text!r} is not a duration like 30d, 12h or 45m")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = (
        "Delete for good the images soft-deleted longer ago than --older-than, with their files (their hashes are "
        "remembered for SCROLLER_PURGED_HASH_RETENTION_DAYS); then sweep orphan files and forget expired hashes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default="30d", help="e.g. 30d, 12h, 0d (default 30d)")
        parser.add_argument(
            "--orphan-grace",
            default="1h",
            help="leave files younger than this alone: their upload may still be in flight",
        )

    def handle(self, *args, older_than: str, orphan_grace: str, **options):
        purged = services.purge_deleted_images(older_than=parse_duration(older_than))
        orphans = services.remove_orphan_files(older_than=parse_duration(orphan_grace))
        forgotten = purged_services.forget_expired_purges()
        self.stdout.write(
            f"purged {purged} image(s); removed {orphans} orphan file(s); forgot {forgotten} expired purged hash(es)"
        )
